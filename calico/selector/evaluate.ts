// Evaluates a selector tree against labels: a plain interpreter, and a compiler to closures for hot paths.

import type { Labels } from '../labels.js';
import type { SelectorNode } from './ast.js';

export type LabelPredicate = (labels: Labels) => boolean;

/** Walks the tree on every call. The reference semantics; compileSelector must agree with it. */
export function evaluateSelector(node: SelectorNode, labels: Labels): boolean {
  switch (node.kind) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return labels.has(node.label);
    case 'eq':
      return labels.get(node.label) === node.value;
    case 'ne':
      return labels.get(node.label) !== node.value;
    case 'contains':
    case 'startsWith':
    case 'endsWith': {
      const v = labels.get(node.label);
      if (v === undefined) return false;
      if (node.kind === 'contains') return v.includes(node.value);
      return node.kind === 'startsWith' ? v.startsWith(node.value) : v.endsWith(node.value);
    }
    case 'in': {
      const v = labels.get(node.label);
      return v !== undefined && node.values.includes(v);
    }
    case 'notIn': {
      const v = labels.get(node.label);
      return v === undefined || !node.values.includes(v);
    }
    case 'not':
      return !evaluateSelector(node.operand, labels);
    case 'and':
      return node.operands.every((op) => evaluateSelector(op, labels));
    case 'or':
      return node.operands.some((op) => evaluateSelector(op, labels));
    default: {
      const unreachable: never = node;
      throw new Error(`unknown selector node ${String(unreachable)}`);
    }
  }
}

const ALWAYS: LabelPredicate = () => true;

/**
 * Compiles the tree into nested closures once, so each match is a few Map lookups with no
 * allocation and no switch dispatch. Set literals become Sets.
 */
export function compileSelector(node: SelectorNode): LabelPredicate {
  switch (node.kind) {
    case 'all':
    case 'global':
      return ALWAYS;
    case 'has': {
      const { label } = node;
      return (labels) => labels.has(label);
    }
    case 'eq': {
      const { label, value } = node;
      return (labels) => labels.get(label) === value;
    }
    case 'ne': {
      const { label, value } = node;
      return (labels) => labels.get(label) !== value;
    }
    case 'contains': {
      const { label, value } = node;
      return (labels) => labels.get(label)?.includes(value) === true;
    }
    case 'startsWith': {
      const { label, value } = node;
      return (labels) => labels.get(label)?.startsWith(value) === true;
    }
    case 'endsWith': {
      const { label, value } = node;
      return (labels) => labels.get(label)?.endsWith(value) === true;
    }
    case 'in': {
      const { label } = node;
      const set = new Set(node.values);
      return (labels) => {
        const v = labels.get(label);
        return v !== undefined && set.has(v);
      };
    }
    case 'notIn': {
      const { label } = node;
      const set = new Set(node.values);
      return (labels) => {
        const v = labels.get(label);
        return v === undefined || !set.has(v);
      };
    }
    case 'not': {
      const operand = compileSelector(node.operand);
      return (labels) => !operand(labels);
    }
    case 'and':
      return compileAnd(node.operands.map(compileSelector));
    case 'or':
      return compileOr(node.operands.map(compileSelector));
    default: {
      const unreachable: never = node;
      throw new Error(`unknown selector node ${String(unreachable)}`);
    }
  }
}

function compileAnd(operands: readonly LabelPredicate[]): LabelPredicate {
  const [a, b] = operands;
  if (operands.length === 2 && a && b) return (labels) => a(labels) && b(labels);
  return (labels) => {
    for (let i = 0; i < operands.length; i++) if (!(operands[i] as LabelPredicate)(labels)) return false;
    return true;
  };
}

function compileOr(operands: readonly LabelPredicate[]): LabelPredicate {
  const [a, b] = operands;
  if (operands.length === 2 && a && b) return (labels) => a(labels) || b(labels);
  return (labels) => {
    for (let i = 0; i < operands.length; i++) if ((operands[i] as LabelPredicate)(labels)) return true;
    return false;
  };
}
