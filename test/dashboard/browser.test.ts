import { VERSION } from '../../src/version.js'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { startApi, createToken, type RunningApi } from '../../src/api/index.js'

/**
 * The dashboard in a real browser, driven by playwright-core. The browser comes from npm:
 * @sparticuz/chromium packs a Chromium inside its package (unpacked to /tmp on first use), so
 * `npm test` needs nothing from the system. HEARSAY_CHROMIUM=/path/to/chromium uses a system
 * Chromium instead, when one is present and wanted. The page is served by peer 0 of a
 * three-peer cluster in this process.
 */
// The machine's network is closed: without these, Chromium keeps dialling Google's services.
const QUIET_ARGS = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run']

async function browserToLaunch (): Promise<{ executablePath: string, args: string[] }> {
  const system = process.env.HEARSAY_CHROMIUM
  if (system !== undefined && system !== '') {
    return { executablePath: system, args: ['--headless', '--no-sandbox', '--disable-gpu', ...QUIET_ARGS] }
  }
  const { default: packed } = await import('@sparticuz/chromium')
  // Its arguments are made for AWS Lambda; --single-process there takes the whole browser down
  // when one of several pages closes.
  const args = packed.args.filter((arg) => arg !== '--single-process')
  return { executablePath: await packed.executablePath(), args: [...args, ...QUIET_ARGS] }
}
// The README's picture is this test's screenshot: HEARSAY_UPDATE_SCREENSHOT=1 writes it to
// docs/; otherwise it goes to a temporary file, so a test run leaves the checkout as it was.
const SCREENSHOT = process.env.HEARSAY_UPDATE_SCREENSHOT === '1'
  ? fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url))
  : join(tmpdir(), `hearsay-dashboard-${process.pid}.png`)
const TOKEN = createToken()

describe('the dashboard in headless Chromium', () => {
  let cluster: Cluster
  let api: RunningApi
  let browser: Browser
  let page: Page
  const errors: string[] = []
  const ids = (): string[] => cluster.peers.map((p) => p.peerId)
  const row = (peerId: string): string => `#members tbody tr[data-peer-id="${peerId}"]`

  beforeAll(async () => {
    cluster = await createCluster({ size: 3 })
    await cluster.converged({ timeout: 30_000 })
    api = await startApi(cluster.peers[0]!, { token: TOKEN, logger: false, dashboard: { intervalMs: 500, tracesEveryMs: 500 } })
    browser = await chromium.launch(await browserToLaunch())
    page = await browser.newPage({ viewport: { width: 1300, height: 700 } })
    page.on('pageerror', (err) => { errors.push(err.message) })
  }, 90_000)
  afterAll(async () => {
    await browser?.close()
    await api?.close()
    await cluster?.stop()
  })

  it('asks for the token, and says clearly when it is missing or wrong', async () => {
    await page.goto(`${api.url}/`)
    await page.waitForSelector('#login', { state: 'visible' })
    expect(await page.isHidden('#board')).toBe(true)
    await page.click('#login-form button[type=submit]')
    await page.waitForSelector('#auth-message:has-text("Enter the API token first")')
    await page.fill('#token', 'this-is-not-the-token-of-this-peer')
    await page.click('#login-form button[type=submit]')
    await page.waitForSelector('#auth-message:has-text("Wrong token")')
    expect(await page.textContent('#auth-message')).toContain('api.token')
    expect(await page.isHidden('#board')).toBe(true)
    expect(await page.evaluate(() => sessionStorage.getItem('hearsay.token'))).toBeNull()
  })

  it('with the token: the members, the coordinator and the live link', async () => {
    await page.fill('#token', TOKEN)
    await page.click('#login-form button[type=submit]')
    await page.waitForSelector('#board', { state: 'visible' })
    await page.waitForSelector('#link:has-text("live")')
    for (const id of ids()) await page.waitForSelector(`${row(id)}[data-state="alive"]`, { timeout: 15_000 })
    expect(await page.textContent(row(ids()[0]!))).toContain('(this peer)')
    // Every member's announced version, and this peer's in the header.
    expect(await page.textContent('#version')).toBe(`hearsay ${VERSION}`)
    for (const id of ids()) expect(await page.textContent(`${row(id)} td.version`)).toBe(VERSION)
    // Wait for one coordinator that every peer follows, then for the page to show it.
    await expect.poll(() => {
      const leaders = new Set(cluster.peers.map((p) => p.leader()?.peerId))
      return leaders.size === 1 ? [...leaders][0] : undefined
    }, { timeout: 30_000 }).toBeDefined()
    const leader = cluster.peers[0]!.leader()!
    await page.waitForSelector(`#leader[data-peer-id="${leader.peerId}"]`, { timeout: 15_000 })
    expect(await page.textContent('#term')).toContain(`term ${leader.term}`)
    expect(await page.textContent(row(leader.peerId))).toContain(`coordinator (term ${leader.term})`)
    // The graph: a node per member, and the three links between them.
    await expect.poll(async () => [await page.locator('#graph circle').count(), await page.locator('#graph line').count()], { timeout: 15_000 }).toEqual([3, 3])
  })

  it('a key written on another peer appears, with its propagation, and the network converges', async () => {
    await cluster.peers[1]!.kv.put('e2e/greeting', { text: 'hello from peer 1' })
    await cluster.peers[2]!.kv.put('config/replicas', 3)
    await cluster.peers[0]!.kv.put('users/alice', { role: 'admin' })
    await page.waitForSelector('#keys tbody tr[data-key="e2e/greeting"]', { timeout: 15_000 })
    expect(await page.textContent('#keys tbody tr[data-key="e2e/greeting"]')).toContain('hello from peer 1')
    // The write's row: on all three, with a propagation time in ms.
    const write = page.locator('#writes tbody tr', { hasText: 'e2e/greeting' })
    await expect.poll(async () => await write.count() === 1 ? await write.locator('td').nth(4).textContent() : 'no row', { timeout: 15_000 }).toBe('3 of 3')
    await expect.poll(async () => await write.locator('td').nth(5).textContent(), { timeout: 15_000 }).toMatch(/^\d+(\.\d)? (ms|s)$/)
    await page.waitForSelector('#converged:has-text("converged")', { timeout: 15_000 })
    for (const id of ids()) expect(await page.textContent(row(id))).toContain('in sync')
  })

  it('the token is entered once: a reload keeps it for the tab, and a link with #token signs in and hides it', async () => {
    await page.reload()
    await page.waitForSelector('#board', { state: 'visible' })
    await page.waitForSelector(`${row(ids()[1]!)}[data-state="alive"]`)
    const other = await browser.newPage()
    try {
      await other.goto(`${api.url}/#token=${TOKEN}`)
      await other.waitForSelector('#board', { state: 'visible' })
      expect(await other.evaluate('location.hash')).toBe('')
    } finally {
      await other.close()
    }
  })

  it('a killed peer turns suspect, then dead; the screenshot shows it', async () => {
    const victim = ids()[2]!
    await cluster.kill(2)
    await page.waitForSelector(`${row(victim)}[data-state="suspect"], ${row(victim)}[data-state="dead"]`, { timeout: 20_000 })
    await page.waitForSelector(`${row(victim)}[data-state="dead"]`, { timeout: 20_000 })
    await page.waitForSelector(`#graph circle.dead[data-peer-id="${victim}"]`)
    // Dead members no longer count: the two that are left agree again.
    await page.waitForSelector('#converged:has-text("converged")', { timeout: 15_000 })
    // Nor is it asked about writes any more: the two that are left had it.
    const write = page.locator('#writes tbody tr', { hasText: 'e2e/greeting' })
    await expect.poll(async () => await write.locator('td').nth(4).textContent(), { timeout: 15_000 }).toBe('2 of 2')
    await mkdir(dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    const png = await readFile(SCREENSHOT)
    expect(png.subarray(1, 4).toString()).toBe('PNG')
    expect(png.byteLength).toBeGreaterThan(10_000)
    expect(errors).toEqual([])
  })
})
