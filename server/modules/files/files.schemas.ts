import { Type, type Static } from 'typebox';
import { Timestamp, Uuid } from '../../platform/schemas.js';

export const FileJson = Type.Object(
  {
    id: Uuid,
    filename: Type.String({ description: 'The generated name the bytes are stored under.' }),
    originalFilename: Type.String({ description: "The uploader's file name, sanitised; data only." }),
    url: Type.String({ description: 'Where the content is served (`/api/files/<id>/content`).' }),
    mimeType: Type.Union([Type.String(), Type.Null()], { description: 'Detected from the bytes, not from the name or header.' }),
    fileSize: Type.Union([Type.Integer(), Type.Null()], { description: 'Bytes.' }),
    folder: Type.Union([Type.String(), Type.Null()]),
    isPublic: Type.Boolean(),
    courseId: Type.Union([Uuid, Type.Null()]),
    uploaderId: Uuid,
    createdAt: Timestamp,
  },
  { additionalProperties: false },
);
export type FileJson = Static<typeof FileJson>;

/** Documents the multipart form; the handler reads and validates the parts itself. */
export const UploadBody = Type.Object(
  {
    file: Type.String({ format: 'binary', description: 'The file (one). Its type is detected from its bytes.' }),
    folder: Type.Optional(Type.String({ maxLength: 255, pattern: '^/?[a-z0-9_-]+(/[a-z0-9_-]+)*/?$', description: 'Names of `a-z0-9-_`, separated by `/`.' })),
    isPublic: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'Default `false`.' })),
    courseId: Type.Optional(
      Type.String({ format: 'uuid', description: 'A course the caller owns (any course for admins); its enrollees may then read the file.' }),
    ),
  },
  { additionalProperties: false },
);

export const ContentQuery = Type.Object(
  {
    expires: Type.Optional(Type.Integer({ minimum: 0, description: 'Signed URL: expiry in unix seconds.' })),
    signature: Type.Optional(Type.String({ maxLength: 200, description: 'Signed URL: the signature from `GET /files/:id/url`.' })),
  },
  { additionalProperties: false },
);

export const SignedUrl = Type.Object(
  {
    url: Type.String({ description: 'Absolute URL of the content, usable without an Authorization header until `expiresAt`.' }),
    expiresAt: Timestamp,
  },
  { additionalProperties: false },
);

export const FileBytes = Type.String({ format: 'binary', description: 'The bytes, with the detected MIME type.' });
