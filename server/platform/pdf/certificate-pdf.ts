import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import PDFDocument from 'pdfkit';

/** What a certificate shows. */
export interface CertificatePdfData {
  certificateNumber: string;
  studentName: string;
  courseTitle: string;
  instructorName: string;
  /** ISO-8601. */
  completionDate: string;
  verificationUrl: string;
}

/** "25 November 2026", in UTC, so that every process renders the same date. */
export function formatCompletionDate(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(iso));
}

/**
 * Writes the certificate, one landscape A4 page, to `path`. Text boxes have fixed heights with
 * ellipsis, so a long name or title never spills onto a second page. The standard PDF fonts
 * cover Latin-1 (WinAnsi) only; other scripts would need an embedded font.
 *
 * CPU-bound for tens of milliseconds: call it through `renderCertificatePdf` (a worker thread),
 * not on an event loop that serves requests.
 */
export async function writeCertificatePdf(data: CertificatePdfData, path: string): Promise<void> {
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: 0,
    info: { Title: `Certificate ${data.certificateNumber}`, Author: data.instructorName, Subject: data.courseTitle },
  });
  const out = createWriteStream(path, { flags: 'wx' });
  doc.pipe(out);

  const { width, height } = doc.page;
  const inner = { x: 60, width: width - 120 };
  doc
    .lineWidth(3)
    .rect(24, 24, width - 48, height - 48)
    .stroke('#1f3a5f');
  doc
    .lineWidth(1)
    .rect(34, 34, width - 68, height - 68)
    .stroke('#1f3a5f');

  const line = (text: string, y: number, font: string, size: number, color = '#222222', boxHeight = size * 1.4) =>
    doc
      .font(font)
      .fontSize(size)
      .fillColor(color)
      .text(text, inner.x, y, { width: inner.width, height: boxHeight, align: 'center', ellipsis: true, lineBreak: true });

  line('Certificate of Completion', 80, 'Helvetica-Bold', 34, '#1f3a5f');
  line('This certifies that', 150, 'Helvetica', 16);
  line(data.studentName, 180, 'Helvetica-Bold', 30, '#111111');
  line('has successfully completed the course', 235, 'Helvetica', 16);
  line(data.courseTitle, 262, 'Helvetica-Bold', 24, '#111111', 64);
  line(`taught by ${data.instructorName}`, 335, 'Helvetica', 16);
  line(`Completed on ${formatCompletionDate(data.completionDate)}`, 365, 'Helvetica', 16);

  line(`Certificate number: ${data.certificateNumber}`, height - 130, 'Helvetica-Bold', 13);
  line('Verify this certificate at', height - 108, 'Helvetica', 11, '#444444');
  line(data.verificationUrl, height - 92, 'Courier', 10, '#1f3a5f', 28);

  doc.end();
  await finished(out);
}
