/** What the conformance checkers report: one line per broken rule, saying what the definition says. */
export interface Violation {
  cloud: 'gce' | 'aliyun';
  /** The request as sent: `POST /compute/v1/projects/p/regions/r/addresses`, `slb CreateLoadBalancerTCPListener`. */
  call: string;
  /** The operation it was matched to: `compute.addresses.insert`, `Slb 2014-05-15 CreateLoadBalancerTCPListener`. */
  operation: string;
  /** The field or parameter at fault: `addressResource.labels`, `HealthCheckInterval`. */
  field: string;
  /** What is wrong, and what the definition says. */
  problem: string;
}

export const formatViolation = (v: Violation): string =>
  `${v.call} (${v.operation}): ${v.field}: ${v.problem}`;

/** The outcome of checking one request. */
export interface Checked {
  /** The operation the request was matched to (undefined when none matched). */
  operation?: string;
  violations: Violation[];
}
