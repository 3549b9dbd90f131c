// Runs inside a test host (`ip netns exec NS node hosts-probe.mjs ...`) to see what the
// kernel lets through. Prints one JSON line.
//   connect HOST PORT TIMEOUT_MS        → { ok, ms, code }
//   udp-recv PORT IDLE_MS               → prints { ready: true }; after a line on stdin (the sender is done),
//                                         prints { received } once nothing more came for IDLE_MS
//   udp-send HOST PORT COUNT            → { sent }
import net from 'node:net'
import dgram from 'node:dgram'

const [command, ...args] = process.argv.slice(2)
const print = (value) => { process.stdout.write(JSON.stringify(value) + '\n') }

if (command === 'connect') {
  const [host, port, timeout] = args
  const started = performance.now()
  const socket = net.connect({ host, port: Number(port) })
  const done = (ok, code) => {
    print({ ok, ms: Math.round(performance.now() - started), code })
    socket.destroy()
    process.exit(0)
  }
  socket.setTimeout(Number(timeout), () => { done(false, 'ETIMEDOUT') })
  socket.once('connect', () => { done(true) })
  socket.once('error', (err) => { done(false, err.code) })
} else if (command === 'udp-recv') {
  const [port, idle] = args
  const socket = dgram.createSocket('udp4')
  let received = 0
  let timer
  let stopping = false
  // Counting ends only once the test says the sender is done, and then nothing more came for
  // IDLE_MS: however slowly the sender starts on a busy machine, no datagram is missed.
  const arm = () => {
    if (!stopping) return
    clearTimeout(timer)
    timer = setTimeout(() => { print({ received }); process.exit(0) }, Number(idle))
  }
  socket.on('message', () => { received++; arm() })
  process.stdin.once('data', () => { stopping = true; arm() })
  socket.bind(Number(port), () => { print({ ready: true }) })
} else if (command === 'udp-send') {
  const [host, port, count] = args
  const socket = dgram.createSocket('udp4')
  const payload = Buffer.from('hearsay')
  let sent = 0
  // Bursts of 50, then a breath: the receiver's socket buffer never overflows, so what is
  // missing was dropped by a rule.
  const burst = () => {
    for (let i = 0; i < 50 && sent < Number(count); i++, sent++) socket.send(payload, Number(port), host)
    if (sent < Number(count)) setTimeout(burst, 2)
    else setTimeout(() => { print({ sent }); process.exit(0) }, 50)
  }
  burst()
} else {
  process.stderr.write(`unknown command ${command}\n`)
  process.exit(2)
}
