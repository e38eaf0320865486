// What the logged-in principal may do, from GET /api/v1/session (docs/security.md).
// The console hides what a role may not use; the server refuses it anyway.

export function permissions(session) {
  const role = session.role;
  const scope = session.scope || [];
  const any = (...roles) => roles.includes(role);
  return {
    role,
    drain: (siteId) => any('admin', 'operator') || (role === 'site-admin' && scope.includes(siteId)),
    cancel: (job) => any('admin', 'operator') ||
      (role === 'submitter' && scope.includes(job.spec && job.spec.project) &&
        job.spec.user === session.user) ||
      (role === 'portal' && scope.includes(job.spec && job.spec.project)) ||
      (role === 'site-admin' && scope.includes(job.site)),
    // GET /api/v1/jobs/{id}/output (docs/api.md): a site-admin reads output at its site.
    readOutput: (job) => any('admin', 'operator', 'viewer') ||
      (role === 'submitter' && scope.includes(job.spec && job.spec.project)),
    setPolicy: role === 'admin',
    // POST /api/v1/jobs and /api/v1/jobs/plan: admin for any project, submitter and portal
    // for the projects of their scope.
    submit: any('admin', 'submitter', 'portal'),
    manageTokens: role === 'admin',
    readAudit: any('admin', 'operator', 'viewer'),
  };
}
