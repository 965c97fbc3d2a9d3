/**
 * Push rules, read-only (spec: "Push Rules"): clients fetch the ruleset during their first sync.
 * This server sends no push notifications, so it serves the server-default rules the spec lists
 * as predefined (master override disabled, plus message/encrypted underrides) and refuses edits.
 */
import { MatrixError } from '../errors.ts';
import type { RouteDef } from '../http/types.ts';

function defaults(): Record<string, unknown> {
  const notify = ['notify'];
  return {
    global: {
      override: [{ rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] }],
      content: [], room: [], sender: [],
      underride: [
        { rule_id: '.m.rule.message', default: true, enabled: true, conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }], actions: notify },
        { rule_id: '.m.rule.encrypted', default: true, enabled: true, conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.encrypted' }], actions: notify },
      ],
    },
  };
}

/** Routes of this module. */
export function pushRuleRoutes(): RouteDef[] {
  const refuse = async (): Promise<never> => { throw new MatrixError('M_UNRECOGNIZED', 'push rule changes are not supported by this server', 400); };
  return [
    { method: 'GET', path: '/_matrix/client/{v}/pushrules/', auth: 'user', placement: 'any', handler: async () => ({ body: defaults() }) },
    { method: 'GET', path: '/_matrix/client/{v}/pushrules', auth: 'user', placement: 'any', handler: async () => ({ body: defaults() }) },
    { method: 'PUT', path: '/_matrix/client/{v}/pushrules/*rule', auth: 'user', placement: 'main', handler: refuse },
    { method: 'DELETE', path: '/_matrix/client/{v}/pushrules/*rule', auth: 'user', placement: 'main', handler: refuse },
  ];
}
