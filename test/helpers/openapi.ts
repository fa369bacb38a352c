import { Type, type Static } from 'typebox';

// The parts of the OpenAPI document (`GET /docs/json`) that tests read, as a schema: read it with
// `bodyOf(await call(app, 'GET', '/docs/json'), 200, OpenApiDocument)`. Other fields pass unchecked.

/** A JSON Schema inside the document; only `properties` is read. */
const JsonSchema = Type.Object({ properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())) });

const Operation = Type.Object({
  summary: Type.Optional(Type.String()),
  tags: Type.Optional(Type.Array(Type.String())),
  security: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Array(Type.String())))),
  requestBody: Type.Optional(Type.Object({ content: Type.Record(Type.String(), Type.Object({ schema: Type.Optional(JsonSchema) })) })),
});

export const OpenApiDocument = Type.Object({
  openapi: Type.String(),
  /** Path → method (`get`, `post` …) → operation. */
  paths: Type.Record(Type.String(), Type.Record(Type.String(), Operation)),
  components: Type.Object({
    schemas: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    securitySchemes: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
});
export type OpenApiDocument = Static<typeof OpenApiDocument>;
