import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start many libp2p nodes; running files one at a time keeps
    // the two cores of a CI machine from being shared by several clusters at once.
    fileParallelism: false,
    pool: 'forks'
  }
})
