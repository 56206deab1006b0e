/**
 * Autostart: when the config says `"autostart": true` and no daemon answers,
 * the helper starts one and retries. Loaded only on that failure path, so a
 * running daemon costs git nothing extra.
 */
import { readFileSync } from 'node:fs';
import { defaultDaemonLogPath, resolveConfigPath } from '../shared/paths.js';
import { launchDaemon } from './daemon-launcher.js';

function autostartEnabled(configPath: string): boolean {
  try {
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as { autostart?: unknown };
    return config.autostart === true;
  } catch {
    // No readable config: the daemon could not start anyway.
    return false;
  }
}

/** Starts a daemon if the config allows it; resolves whether one now answers. */
export async function autostartDaemon(
  socketPath: string,
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  const configPath = resolveConfigPath(env);
  if (!autostartEnabled(configPath)) return false;

  await launchDaemon({ configPath, socketPath, logPath: defaultDaemonLogPath(env), env });
  return true;
}
