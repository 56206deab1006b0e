/** Host names as the daemon and the helper both judge them. */

/** True for hosts whose traffic never leaves this machine. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:[0-9]+$/, '').replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name === '::1' || /^127(\.[0-9]{1,3}){3}$/.test(name);
}
