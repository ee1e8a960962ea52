import type { Principal } from '../policy/principal.js';
import type { WriteRequest } from './write-executor.js';

/**
 * What happens to a write the policy says needs approval:
 * - `queue`: it waits in `ormai_approval_request` for an approver (WRITE_APPROVAL_REQUIRED);
 * - `approve`: it runs now, and its audit record names the gate as the approver;
 * - `{ reject }`: it is refused (WRITE_DISABLED, with the reason); nothing is queued or written.
 */
export type ApprovalDecision = 'queue' | 'approve' | { reject: string };

export interface ApprovalInput {
  request: WriteRequest;
  principal: Principal;
}

/** Decides writes that need approval. Consulted only for those; others run directly. */
export interface ApprovalGate {
  /** Recorded as the audit record's approval_id (`gate:<name>`) when the gate approves. */
  name: string;
  decide(input: ApprovalInput): ApprovalDecision | Promise<ApprovalDecision>;
}

/** The default: every gated write waits for an approver in the persistent queue. */
export const queueApprovals: ApprovalGate = { name: 'queue', decide: () => 'queue' };

/** Approves every gated write at once (development, or tests of the write path itself). */
export const autoApprove: ApprovalGate = { name: 'auto', decide: () => 'approve' };

/**
 * Asks your code: `true` approves, `false` or a string rejects (the string is the reason),
 * `'queue'` hands the write to the persistent queue. A callback that throws rejects the write.
 */
export function approvalCallback(
  name: string,
  decide: (
    input: ApprovalInput,
  ) => boolean | string | 'queue' | Promise<boolean | string | 'queue'>,
): ApprovalGate {
  return {
    name,
    async decide(input) {
      let answer: boolean | string;
      try {
        answer = await decide(input);
      } catch (error) {
        return { reject: `the approval callback failed: ${(error as Error).message}` };
      }
      if (answer === 'queue') return 'queue';
      if (answer === true) return 'approve';
      return { reject: typeof answer === 'string' ? answer : `${name} did not approve it` };
    },
  };
}
