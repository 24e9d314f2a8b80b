// Evaluate AWS requests against IAM policies with @cloud-copilot/iam-simulate (AWS's policy evaluation
// logic, offline). Called by tests/fidelity/iam_evaluator.py.
//
// stdin: a JSON list of requests
//   {principal, action, resource, accountId, context: {key: value}, identityPolicies: [{name, policy}],
//    resourcePolicy?: policy}
// stdout: a JSON list, one per request: {decision: "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | ...,
//   errors?: {...}} (errors: the evaluator refused the request, e.g. an action IAM does not know).
import { runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const requests = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const answers = []
for (const request of requests) {
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.accountId },
      contextVariables: request.context ?? {},
    },
    identityPolicies: request.identityPolicies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(request.resourcePolicy ? { resourcePolicy: request.resourcePolicy } : {}),
  }
  const result = await runSimulation(simulation, {})
  if (result.resultType === 'error') {
    answers.push({ decision: 'Error', errors: result.errors })
  } else {
    answers.push({ decision: result.overallResult })
  }
}
process.stdout.write(JSON.stringify(answers))
