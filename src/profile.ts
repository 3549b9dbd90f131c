/**
 * Timer defaults, after memberlist's `DefaultLANConfig` / `DefaultLocalConfig`: `lan` for real
 * networks, `local` with fast timers for many peers on one machine (tests, the harness,
 * `hearsay cluster`). Each part keeps its own table of defaults per profile.
 */
export type Profile = 'local' | 'lan'

/** Every profile, as the CLI and config file accept them. */
export const PROFILES: readonly Profile[] = ['local', 'lan']

/** The profile of a peer that chose none. */
export const DEFAULT_PROFILE: Profile = 'lan'

/** The entry of a part's table of defaults for `profile`, or for the default profile. */
export function forProfile<T> (table: Readonly<Record<Profile, T>>, profile: Profile | undefined): T {
  return table[profile ?? DEFAULT_PROFILE]
}

export function isProfile (value: unknown): value is Profile {
  return (PROFILES as readonly unknown[]).includes(value)
}
