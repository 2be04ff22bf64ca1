/** Label selector matching for PodDisruptionBudgets, over pkg/api's selectors. */
import { selectorFromLabelSelector } from '../api/labels.js';
import type { LabelSelector } from '../api/types.js';

/**
 * True if `labels` match the selector. As a PodDisruptionBudget's: an empty or absent selector
 * matches nothing (policy/v1 treats an empty selector as matching every pod only for budgets
 * created with it explicitly; berth's eviction does the same as here), and a malformed one matches nothing.
 */
export function labelSelectorMatches(sel: unknown, labels: Record<string, string> | undefined): boolean {
  try {
    const s = selectorFromLabelSelector(sel as LabelSelector | undefined);
    return !s.empty && s.matches(labels);
  } catch {
    return false;
  }
}
