import { createPeer, type Peer } from '../../src/index.js'
import { buildApi, createToken, type ApiOptions, type HearsayApi } from '../../src/api/index.js'

export const TOKEN = createToken()
export const auth = { authorization: `Bearer ${TOKEN}` }
export const json = { ...auth, 'content-type': 'application/json' }

export interface Fixture {
  peer: Peer
  app: HearsayApi
  close: () => Promise<void>
}

/** A started in-memory peer (local profile) and an API over it, not listening. */
export async function startPeerWithApi (options: Partial<ApiOptions> = {}, peerOptions: Parameters<typeof createPeer>[0] = {}): Promise<Fixture> {
  const peer = await createPeer({ profile: 'local', ...peerOptions })
  await peer.start()
  const app = buildApi(peer, { token: TOKEN, logger: false, ...options })
  return {
    peer,
    app,
    close: async () => {
      await app.close()
      await peer.stop()
    }
  }
}

/** The parsed JSON body of an inject() response. */
export function body<T = unknown> (response: { body: string }): T {
  return JSON.parse(response.body) as T
}

export interface ErrorBody { error: { code: string, message: string } }
