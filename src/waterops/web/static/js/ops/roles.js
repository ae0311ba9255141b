// What each staff role may do in the operations centre: a copy of the grants in
// waterops.model.accounts.ROLE_PERMISSIONS, limited to the permissions listed in RELEVANT
// (tests/web/test_ops_roles.py keeps the two equal). The page only hides what the API would
// refuse; the API decides anyway.

/** The permissions the operations centre looks at. */
export const RELEVANT = ["operations:read", "alarms:act", "incidents:inject", "isolation:plan",
  "users:manage", "water_balance:read", "treatment:read", "emergency:analyse", "renewal:plan"];

export const PERMISSIONS = {
  dispatcher: ["operations:read", "alarms:act", "incidents:inject", "isolation:plan",
    "water_balance:read", "treatment:read", "emergency:analyse"],
  water_quality_engineer: ["operations:read", "alarms:act", "treatment:read", "emergency:analyse"],
  service_agent: ["operations:read"],
  field_crew: ["operations:read", "alarms:act"],
  planner: ["operations:read", "isolation:plan", "water_balance:read", "renewal:plan"],
  administrator: ["operations:read", "alarms:act", "incidents:inject", "isolation:plan",
    "users:manage", "water_balance:read", "treatment:read", "emergency:analyse", "renewal:plan"],
};

/** Permissions (of RELEVANT) a role is granted. */
export function permissionsOf(role) { return PERMISSIONS[role] || []; }

/** Capabilities of the page: which views and buttons a role sees. */
export const CAPABILITIES = {
  ops: "operations:read",
  alarm_actions: "alarms:act",
  inject: "incidents:inject",
  scenario: "isolation:plan", // close a pipe or valve (valve isolation plans, scenarios)
  emergency: "emergency:analyse", // contamination spread and tracing, source switching
  treatment: "treatment:read",
  water_balance: "water_balance:read",
  renewal: "renewal:plan",
  planning: ["water_balance:read", "renewal:plan"], // the view: either part
};

export function can(role, capability) {
  const permissions = [].concat(CAPABILITIES[capability] || []); // one permission or any of a list
  return permissions.some((p) => permissionsOf(role).includes(p));
}
