// Election messages (/hearsay/<network>/election/1.0.0) and the bully state machine they
// drive. decodeElectionMessage returns a message (a known type, a safe-integer term, the
// authenticated sender) that encodes back to itself, or throws MalformedElectionMessageError. A run feeds a
// machine a sequence of such inputs from members and strangers, with timer ticks between:
// garbage and messages from peers that are not live members change nothing, and whatever
// arrives, the term only grows and stays a number the next claim can exceed exactly, and
// that the service can persist and read back (a safe integer).

import { decodeElectionMessage, encodeElectionMessage } from '../../dist/src/election/codec.js'
import { MalformedElectionMessageError } from '../../dist/src/election/errors.js'
import { LOCAL_ELECTION_OPTIONS, MAX_TERM } from '../../dist/src/election/constants.js'
import { Election } from '../../dist/src/election/state.js'
import { fc, bytesInput, check, checkSame, expectTyped } from '../lib.js'

const SELF = 'peer-m'
const MEMBERS = ['peer-a', 'peer-z', 'peer-q']
const STRANGERS = ['peer-x', '']
const TYPES = ['election', 'answer', 'coordinator', 'heartbeat']

const term = fc.oneof(
  fc.nat({ max: 20 }),
  fc.nat(),
  fc.constantFrom(2 ** 32, MAX_TERM - 1, MAX_TERM, MAX_TERM + 1, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER)
)
const valid = fc.record({ type: fc.constantFrom(...TYPES), term, from: fc.constant(SELF) }).map((m) => encodeElectionMessage(m))

const event = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('message'), bytes: bytesInput(valid), from: fc.constantFrom(...MEMBERS, ...MEMBERS, SELF, ...STRANGERS) }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('tick'), after: fc.oneof(fc.nat({ max: 400 }), fc.nat({ max: 5_000 })) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('members'), drop: fc.option(fc.constantFrom(...MEMBERS), { nil: undefined }) }), weight: 1 }
)

const input = fc.record({
  priorities: fc.tuple(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -2, max: 2 }), fc.integer({ min: -2, max: 2 }), fc.integer({ min: -2, max: 2 })),
  startTerm: fc.oneof(fc.nat({ max: 5 }), fc.constantFrom(2 ** 40, MAX_TERM - 1, MAX_TERM)),
  events: fc.array(event, { maxLength: 12 })
})

function observe (machine) {
  return { term: machine.term(), role: machine.role(), leader: machine.leader(), deadline: machine.nextDeadline() }
}

function checkStep (step, machine, before) {
  const after = machine.term()
  check(Number.isSafeInteger(after) && after >= 0, `the term became ${after}`)
  // Every term held must be one peers accept (and the term file reads back: a safe integer).
  check(after <= MAX_TERM, `the term ${after} is above MAX_TERM, where peers ignore it`)
  check(after >= before.term, `the term went back from ${before.term} to ${after}`)
  check(step.termChanged === (after !== before.term), 'termChanged does not match the term')
  const leader = machine.leader()
  check(leader === undefined || leader.term <= after, 'a leader with a term above ours')
  for (const { message } of step.send) {
    check(Number.isSafeInteger(message.term) && message.term <= after, `sent term ${message.term}`)
    checkSame(decodeElectionMessage(encodeElectionMessage(message), message.from), message, 'a message we send, after the codec')
  }
}

export default {
  name: 'election',
  input: () => input,
  run (_context, { priorities, startTerm, events }) {
    const [selfPriority, ...others] = priorities
    let members = MEMBERS.map((peerId, i) => ({ peerId, priority: others[i] }))
    let now = 1_000_000
    const machine = new Election({ selfId: SELF, priority: selfPriority, term: startTerm, options: LOCAL_ELECTION_OPTIONS }, now)
    checkStep(machine.start(members, now), machine, { term: startTerm })
    for (const e of events) {
      const before = observe(machine)
      if (e.kind === 'tick') {
        now += e.after
        checkStep(machine.tick(now), machine, before)
        continue
      }
      if (e.kind === 'members') {
        members = e.drop === undefined ? MEMBERS.map((peerId, i) => ({ peerId, priority: others[i] })) : members.filter((m) => m.peerId !== e.drop)
        checkStep(machine.membersChanged(members, now), machine, before)
        continue
      }
      let message
      try {
        message = decodeElectionMessage(e.bytes, e.from)
      } catch (err) {
        // Counted as malformed by the service; the machine never sees it.
        expectTyped(err, [MalformedElectionMessageError])
        checkSame(observe(machine), before, 'the machine after garbage')
        continue
      }
      check(TYPES.includes(message.type) && message.from === e.from && Number.isSafeInteger(message.term) && message.term >= 0, `decoded ${JSON.stringify(message)}`)
      checkSame(decodeElectionMessage(encodeElectionMessage(message), e.from), message, 'a decoded message after encoding it again')
      const step = machine.receive(message, now)
      checkStep(step, machine, before)
      if (!members.some((m) => m.peerId === e.from)) {
        // Rank unknown (a stranger, or ourselves): ignored, nothing sent, nothing changed.
        checkSame(observe(machine), before, `the machine after a message from non-member ${JSON.stringify(e.from)}`)
        check(step.send.length === 0 && !step.leaderChanged, 'answered a non-member')
      }
    }
  }
}
