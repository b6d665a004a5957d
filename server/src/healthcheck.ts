/**
 * The container's health check (Dockerfile HEALTHCHECK): exits 0 when this instance's /healthz
 * answers 200 — the server listens and its database answers — and 1 otherwise.
 */
import { loadConfig } from './config';

const HEALTH_PATH = '/healthz';

const { port } = loadConfig();
const response = await fetch(`http://127.0.0.1:${port}${HEALTH_PATH}`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
process.exit(response?.ok ? 0 : 1);
