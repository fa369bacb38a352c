import { api } from '../api.js';
import type { CertificateJson, Page } from '../types.js';
import { Notice, useLoad } from './common.js';

export function Certificates() {
  const { data, error } = useLoad(() => api.get<Page<CertificateJson> | CertificateJson[]>('/api/certificates'), []);
  if (error) return <Notice kind="error">{error}</Notice>;
  if (!data) return <p>Loading your certificates…</p>;
  const items = Array.isArray(data) ? data : data.items;
  return (
    <section>
      <h1>My certificates</h1>
      {items.length === 0 && <p>No certificates yet: complete a course to earn one.</p>}
      <ul class="cards">
        {items.map((certificate) => (
          <li key={certificate.id} class="card">
            <strong>{certificate.course.title}</strong>
            <small>
              {new Date(certificate.completionDate).toLocaleDateString()} · no. {certificate.certificateNumber}
              {certificate.isRevoked ? ' · revoked' : ''}
            </small>
            <a href={certificate.pdfUrl} target="_blank" rel="noopener">
              Download the PDF
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
