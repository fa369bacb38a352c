/**
 * Scenario 8(a), baseline: a bare process rendering the same certificate template
 * (`writeCertificatePdf`, what the render thread runs) in a loop on its main thread: no queue,
 * no database, no render thread, no announcement. `concurrency` renders are in flight at once,
 * as the worker runs `certificateConcurrency` jobs at once. The data has the shape and sizes the
 * worker's has (the student and course names the bench seeds, a real certificate number and
 * verification URL). Files go to the bench's storage folder, as the worker's PDFs do.
 * IPC `{type:'render', count, concurrency}` → `{type:'rendered', startedAt, at, cpuUs}` (hrtime
 * stamps; this process's CPU time for the run).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../server/config/config.js';
import { certificateVerificationUrl } from '../../server/modules/certificates/certificates.service.js';
import { newCertificateNumber } from '../../server/domain/certificate-number.js';
import { writeCertificatePdf } from '../../server/platform/pdf/certificate-pdf.js';
import { serve } from './serve.js';

const config = loadConfig(process.env);
const dir = join(config.storageDir, 'bench-direct');
let run = 0;

async function render(count: number, concurrency: number) {
  const folder = join(dir, String(run++));
  await mkdir(folder, { recursive: true });
  const cpuStart = process.cpuUsage();
  const startedAt = process.hrtime.bigint();
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const n = next++;
      const completedAt = new Date();
      const certificateNumber = newCertificateNumber(completedAt);
      await writeCertificatePdf(
        {
          certificateNumber,
          studentName: `Student ${n + 1}`,
          courseTitle: 'Benchmarking 101',
          instructorName: 'Bench Instructor',
          completionDate: completedAt.toISOString(),
          verificationUrl: certificateVerificationUrl(config, certificateNumber),
        },
        join(folder, `${n}.pdf`),
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const at = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpuStart);
  await rm(folder, { recursive: true, force: true });
  return { startedAt: startedAt.toString(), at: at.toString(), cpuUs: cpu.user + cpu.system };
}

await serve(async () => {
  process.on('message', (message: { type?: string; count: number; concurrency: number }) => {
    if (message.type !== 'render') return;
    render(message.count, message.concurrency).then(
      (result) => process.send!({ type: 'rendered', ...result }),
      (error: Error) => process.send!({ type: 'error', message: error.stack ?? String(error) }),
    );
  });
  return { close: async () => rm(dir, { recursive: true, force: true }) };
});
