/**
 * --auth-command: a command of the user's whose standard output is a token, or a whole header
 * line. It runs through the shell, as a crontab line would; its stderr goes to ours (its own
 * messages), its stdout is the secret and is never shown.
 */
import { spawn } from 'node:child_process';
import { AuthError, grantFromText, type Grant } from './grant.js';

const MAX_OUTPUT_BYTES = 64 * 1024;

export function commandSource(command: string, options: { timeoutMs: number; env: NodeJS.ProcessEnv; stderr: NodeJS.WritableStream }): () => Promise<Grant> {
  return () =>
    new Promise<Grant>((resolve, reject) => {
      const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env });
      const chunks: Buffer[] = [];
      let size = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_OUTPUT_BYTES) chunks.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => options.stderr.write(chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new AuthError(`--auth-command could not start: ${error.message}`));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (signal === 'SIGKILL') return reject(new AuthError(`--auth-command took longer than ${options.timeoutMs / 1000} s`));
        if (code !== 0) return reject(new AuthError(`--auth-command exited with ${code ?? signal}`));
        try {
          resolve(grantFromText(Buffer.concat(chunks).toString('utf8'), '--auth-command'));
        } catch (error) {
          reject(error);
        }
      });
    });
}
