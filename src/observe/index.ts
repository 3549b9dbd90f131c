/**
 * Seeing the network: write tracing (a bounded buffer of how each write reached this peer,
 * and a stream protocol to ask the others), convergence (how far behind each member's replica
 * is, from the beacons, anti-entropy and gossip) and the graph of connections and gossip mesh.
 */
export { createObserver } from './service.js'
export type { Observe, Observer, ObserveComponents, ObserveInit, ObserveNet, ObserveStats, ObservedStore, TraceOptions } from './service.js'
export { assessConvergence, lagEntries, missingRanges, learnReport, learnVector } from './lag.js'
export type { ConvergenceReport, ConvergenceInput, MemberKnowledge, MemberLag, MemberReport, ReportSource } from './lag.js'
export { buildTraceReport } from './trace-report.js'
export type { PeerAnswer, PeerTrace, TraceReport } from './trace-report.js'
export { buildGraph, topicPart } from './graph.js'
export type { GraphEdge, GraphNode, MeshGraph, PeerLinks } from './graph.js'
export { decodeBeacon, decodeTraceReply, decodeTraceRequest, encodeBeacon, encodeTraceReply, encodeTraceRequest } from './codec.js'
export { traceId } from './types.js'
export type { BeaconMessage, TraceAnswer, TraceEntry } from './types.js'
export { InvalidObserveOptionsError, MalformedObserveMessageError, NoTraceAnswerError, TooManyTracesError } from './errors.js'
export { otlpRootSpanId, otlpSpanId, otlpTraceId, toSpan } from './otlp.js'
export type { OtlpOptions, OtlpStats } from './otlp.js'
export { BEACON_TIMING, DEFAULT_TRACE_BUFFER, DEFAULT_TRACE_TIMEOUT, OBSERVE_LIMITS } from './constants.js'
export type { BeaconTiming } from './constants.js'
