import { HearsayError } from '../../errors.js'

/** This machine cannot run a hosts cluster: not root, no `ip netns`, or no nf_tables. */
export class HostsUnavailableError extends HearsayError {
  constructor (reason: string) {
    super('ERR_HOSTS_UNAVAILABLE', `a hosts cluster cannot run here: ${reason}`)
  }
}

/** An `ip` or packet-filter command failed while the harness built or changed the test network. */
export class TestNetworkError extends HearsayError {
  constructor (what: string, detail: string) {
    super('ERR_TEST_NETWORK', `${what} failed: ${detail}`)
  }
}
