import { BootstrapNetwork } from '../bootstrap/bootstrap-user-data';
import { NetworkConfig } from '../config/network-schema';

/**
 * Hosts a machine always reaches directly: instance metadata (IMDS answers
 * only on the link-local address, never through a proxy) and itself.
 */
export const DIRECT_HOSTS: readonly string[] = ['169.254.169.254', 'localhost', '127.0.0.1'];

/** What the bootstrap of a machine in an existing VPC needs to know of its network. */
export function bootstrapNetworkOf(network: NetworkConfig): BootstrapNetwork {
  // With endpoints, AWS's names resolve to them inside the VPC (private DNS): no proxy in between.
  const endpoints = network.endpoints === 'none' ? [] : ['.amazonaws.com'];
  return { proxyUrl: network.proxy ?? undefined, noProxy: [...DIRECT_HOSTS, ...endpoints] };
}
