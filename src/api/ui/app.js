// The hearsay dashboard: plain browser JavaScript, no build step. It asks for the peer's API
// token once (kept in sessionStorage, so it lasts for this tab only), then reads the live
// stream GET /v1/dashboard/events with fetch: EventSource cannot send an Authorization header,
// and a token in the URL would end up in logs and history. Everything shown is built with
// textContent, never innerHTML: keys and values come from the network.
'use strict'

const TOKEN_KEY = 'hearsay.token'
const SVG = 'http://www.w3.org/2000/svg'
const $ = (selector) => document.querySelector(selector)

let stream = null
let retry = 0

function el (tag, attributes = {}, ...children) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value))
  }
  for (const child of children) {
    if (child === null || child === undefined) continue
    node.append(typeof child === 'string' ? document.createTextNode(child) : child)
  }
  return node
}

function short (peerId) {
  return typeof peerId === 'string' ? `…${peerId.slice(-6)}` : '-'
}

function ago (ms, now) {
  if (typeof ms !== 'number') return '-'
  const s = Math.max(0, Math.round((now - ms) / 1000))
  if (s < 60) return `${s}s ago`
  if (s < 3600) return `${Math.round(s / 60)}m ago`
  return `${Math.round(s / 3600)}h ago`
}

function duration (ms) {
  if (typeof ms !== 'number') return '-'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return `${Math.round(ms / 60_000)} min`
}

function clock (ms) {
  return typeof ms === 'number' ? new Date(ms).toLocaleTimeString() : '-'
}

function headers () {
  return { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ''}` }
}

function setLink (text, kind) {
  const link = $('#link')
  link.textContent = text
  link.className = `badge ${kind}`
}

// --- signing in ------------------------------------------------------------------------------

function showLogin (message) {
  stopStream()
  $('#board').hidden = true
  $('#sign-out').hidden = true
  $('#converged').hidden = true
  $('#login').hidden = false
  $('#auth-message').textContent = message
  setLink('not connected', 'idle')
  $('#token').focus()
}

async function errorMessage (response) {
  try {
    const body = await response.json()
    return body?.error?.message ?? `the peer answered ${response.status}`
  } catch {
    return `the peer answered ${response.status}`
  }
}

async function signIn () {
  const token = sessionStorage.getItem(TOKEN_KEY)
  if (token === null || token === '') {
    showLogin('')
    return
  }
  let response
  try {
    response = await fetch('/v1/status', { headers: headers() })
  } catch (err) {
    showLogin(`Cannot reach the peer: ${err.message}`)
    return
  }
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY)
    showLogin('Wrong token: the peer refused it. Use the token in its data dir (api.token).')
    return
  }
  if (!response.ok) {
    showLogin(`The peer cannot answer: ${await errorMessage(response)}`)
    return
  }
  $('#login').hidden = true
  $('#board').hidden = false
  $('#sign-out').hidden = false
  startStream()
}

$('#login-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const token = $('#token').value.trim()
  if (token === '') {
    showLogin('Enter the API token first.')
    return
  }
  sessionStorage.setItem(TOKEN_KEY, token)
  $('#token').value = ''
  void signIn()
})

$('#sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY)
  showLogin('')
})

// --- the live stream -------------------------------------------------------------------------

function stopStream () {
  if (stream !== null) stream.abort()
  stream = null
}

function startStream () {
  stopStream()
  const controller = new AbortController()
  stream = controller
  void readStream(controller).catch((err) => {
    if (controller.signal.aborted) return
    setLink('reconnecting', 'reconnecting')
    console.warn('dashboard stream ended', err)
    retry = Math.min(retry + 1, 5)
    setTimeout(() => { if (stream === controller) startStream() }, 1000 * retry)
  })
}

async function readStream (controller) {
  const response = await fetch('/v1/dashboard/events', { headers: headers(), signal: controller.signal })
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY)
    showLogin('Wrong token: the peer refused it. Use the token in its data dir (api.token).')
    return
  }
  if (!response.ok || response.body === null) throw new Error(await errorMessage(response))
  setLink('live', 'live')
  retry = 0
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  while (true) {
    const { value, done } = await reader.read()
    if (done) throw new Error('the peer closed the stream')
    buffer += decoder.decode(value, { stream: true })
    let end
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const lines = block.split('\n')
      const type = lines.find((l) => l.startsWith('event:'))?.slice(6).trim()
      const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n')
      if (type === 'snapshot' && data !== '') render(JSON.parse(data))
    }
  }
}

// --- drawing ---------------------------------------------------------------------------------

function render (snapshot) {
  const now = snapshot.at
  $('#network').textContent = `network ${snapshot.network}`
  $('#self').textContent = `peer ${short(snapshot.peerId)}`
  $('#version').textContent = `hearsay ${snapshot.version}`
  const converged = $('#converged')
  converged.hidden = false
  converged.textContent = snapshot.convergence.converged ? 'converged' : 'converging'
  converged.className = `badge ${snapshot.convergence.converged ? 'yes' : 'no'}`
  renderLeader(snapshot)
  renderMembers(snapshot, now)
  renderGraph(snapshot)
  renderKeys(snapshot)
  renderWrites(snapshot)
  renderJobs(snapshot, now)
}

function renderLeader (snapshot) {
  const leader = $('#leader')
  if (snapshot.leader === null) {
    leader.textContent = 'none known (election running)'
    leader.removeAttribute('data-peer-id')
    $('#term').textContent = `highest term seen: ${snapshot.term}`
    return
  }
  leader.textContent = `${short(snapshot.leader.peerId)}${snapshot.leader.peerId === snapshot.peerId ? ' (this peer)' : ''}`
  leader.setAttribute('data-peer-id', snapshot.leader.peerId)
  leader.title = snapshot.leader.peerId
  $('#term').textContent = `term ${snapshot.leader.term} (fencing token)`
}

function renderMembers (snapshot, now) {
  const lag = new Map(snapshot.convergence.members.map((m) => [m.peerId, m]))
  const members = [...snapshot.members].sort((a, b) => (b.self - a.self) || (a.peerId < b.peerId ? -1 : 1))
  const alive = members.filter((m) => m.state === 'alive').length
  $('#member-count').textContent = `${alive} alive of ${members.length}`
  const rows = members.map((m) => {
    const l = lag.get(m.peerId)
    const leader = snapshot.leader?.peerId === m.peerId
    const gone = m.state === 'dead' || m.state === 'left'
    const lagText = gone ? '-' : l === undefined || l.lagEntries === null ? 'unknown' : l.lagEntries === 0 ? (l.inSync ? 'in sync' : '0') : `${l.lagEntries} behind`
    const lagClass = gone ? '' : l?.inSync ? 'ok' : l?.lagEntries > 0 ? 'behind' : ''
    const digest = l?.digest ?? null
    return el('tr', { 'data-peer-id': m.peerId, 'data-state': m.state, class: gone ? 'gone' : undefined },
      el('td', { class: 'mono', title: m.peerId }, short(m.peerId), m.self ? ' (this peer)' : ''),
      el('td', {}, el('span', { class: `state ${m.state}` }, m.state)),
      el('td', {}, leader ? `coordinator (term ${snapshot.leader.term})` : ''),
      el('td', { class: lagClass }, lagText),
      el('td', {}, !gone && l?.oldestMissingMs > 0 ? duration(l.oldestMissingMs) : '-'),
      el('td', {}, l?.keys === null || l?.keys === undefined ? '-' : String(l.keys)),
      el('td', { class: 'mono', title: digest ?? '' }, digest === null ? '-' : `${digest.slice(0, 8)}${digest === snapshot.convergence.digest ? ' =' : ' ≠'}`),
      el('td', {}, m.self ? '-' : ago(m.lastHeard, now)),
      el('td', { class: 'version', title: m.protocols.length === 0 ? 'protocols not announced' : m.protocols.join('\n') }, m.version === '' ? '?' : m.version)
    )
  })
  $('#members tbody').replaceChildren(...rows)
}

function renderGraph (snapshot) {
  const svg = $('#graph')
  const nodes = [...snapshot.graph.nodes].sort((a, b) => (a.peerId < b.peerId ? -1 : 1))
  const cx = 200
  const cy = 145
  const r = nodes.length <= 1 ? 0 : 105
  const at = new Map(nodes.map((n, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, nodes.length)
    return [n.peerId, { x: cx + r * Math.cos(angle), y: cy + r * Math.sin(angle) }]
  }))
  const edges = snapshot.graph.edges.flatMap((e) => {
    const a = at.get(e.a)
    const b = at.get(e.b)
    if (a === undefined || b === undefined) return []
    const kind = e.mesh.includes('kv') ? 'mesh' : 'conn'
    return [el('svg:line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: kind, 'data-a': e.a, 'data-b': e.b })]
  })
  const circles = nodes.flatMap((n) => {
    const p = at.get(n.peerId)
    const leader = snapshot.leader?.peerId === n.peerId
    return [
      el('svg:circle', { cx: p.x, cy: p.y, r: leader ? 16 : 12, class: `${n.state}${n.self ? ' self' : ''}`, 'data-peer-id': n.peerId },
        el('svg:title', {}, `${n.peerId} (${n.state})`)),
      el('svg:text', { x: p.x, y: p.y + (leader ? 31 : 27) }, `${short(n.peerId)}${leader ? ' ★' : ''}`)
    ]
  })
  svg.replaceChildren(...edges, ...circles)
}

function renderKeys (snapshot) {
  const { total, entries } = snapshot.keys
  $('#key-count').textContent = total > entries.length ? `${entries.length} of ${total}` : `${total}`
  const rows = entries.map((e) => el('tr', { 'data-key': e.key },
    el('td', { class: 'mono' }, e.key),
    el('td', { class: 'value', title: e.preview }, e.preview)
  ))
  $('#keys tbody').replaceChildren(...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: 2, class: 'muted' }, 'no keys yet'))]))
}

function renderWrites (snapshot) {
  const rows = snapshot.writes.map((w) => {
    const applied = w.peers.filter((p) => p.status === 'applied' || p.status === 'held').length
    const chips = w.peers.map((p) => el('span', { class: `chip ${p.status === 'applied' ? p.path : p.status}`, title: p.error ?? (p.from === undefined ? '' : `from ${p.from}`) },
      `${short(p.peerId)} ${p.status === 'applied' ? `${p.path} +${Math.round(p.afterMs)} ms` : p.status}`))
    return el('tr', { 'data-trace-id': w.traceId },
      el('td', { class: 'mono' }, w.key),
      el('td', {}, w.op),
      el('td', { class: 'mono', title: w.author }, short(w.author)),
      el('td', {}, clock(w.writtenAt)),
      el('td', {}, `${applied} of ${w.peers.length}`),
      el('td', { class: w.complete ? 'ok' : 'behind' }, w.propagationMs !== null
        ? duration(w.propagationMs)
        : w.complete ? 'everywhere' : w.unanswered.length > 0 ? `${w.unanswered.length} did not answer` : 'spreading'),
      el('td', {}, ...chips)
    )
  })
  $('#writes tbody').replaceChildren(...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'no writes have reached this peer yet'))]))
}

function renderJobs (snapshot, now) {
  const rows = snapshot.jobs.map((j) => {
    const last = j.runs.at(-1)
    return el('tr', {},
      el('td', {}, j.name),
      el('td', {}, duration(j.every)),
      el('td', {}, last === undefined ? 'never' : ago(last.end, now)),
      el('td', { class: last?.outcome === 'ok' ? 'ok' : last === undefined ? '' : 'behind' }, last === undefined ? '-' : last.outcome),
      el('td', { class: 'mono' }, last === undefined ? '-' : `${short(last.peer)} (term ${last.term})`)
    )
  })
  $('#jobs tbody').replaceChildren(...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'no jobs defined'))]))
}

// --- start -----------------------------------------------------------------------------------

// `hearsay cluster` prints links that carry the token in the fragment (never sent to the
// server): take it, keep it for this tab, and clear it from the address bar.
const fragment = new URLSearchParams(location.hash.slice(1))
if (fragment.has('token')) {
  sessionStorage.setItem(TOKEN_KEY, fragment.get('token'))
  history.replaceState(null, '', location.pathname + location.search)
}
void signIn()
