/**
 * The simulated accounts the benchmark runs against, built deterministically, with what a
 * correct run must conclude (which services are redeployed) known by construction.
 */
import { ACCOUNT, REGION, SimulatedAws } from './aws-sim.js';

export const SECRET_NAME = 'prod/db';
export const SECRET_SUFFIX = 'AbC123';
export const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${SECRET_NAME}-${SECRET_SUFFIX}`;
const SECRET_PARTIAL_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${SECRET_NAME}`;
const VERSION_PREVIOUS = '11111111-1111-4111-8111-111111111111';
const VERSION_CURRENT = '22222222-2222-4222-8222-222222222222';

/** How a task definition refers to the changed secret (or does not). */
export type ReferenceForm =
  'full-arn' | 'partial-arn' | 'json-key' | 'ssm-passthrough' | 'pinned-version' | 'none';

/** Whether a task definition with this form is affected when AWSCURRENT moves. */
const AFFECTING: ReadonlySet<ReferenceForm> = new Set([
  'full-arn',
  'partial-arn',
  'json-key',
  'ssm-passthrough',
]);

export interface AccountShape {
  readonly clusters: number;
  readonly servicesPerCluster: number;
  readonly taskDefinitions: number;
  /** Services whose task definition mentions the secret, in any form. */
  readonly servicesReferencing: number;
}

export interface BuiltAccount {
  readonly sim: SimulatedAws;
  readonly shape: AccountShape;
  readonly clusterNames: readonly string[];
  /** Services per cluster, in cluster order. */
  readonly servicesByCluster: readonly number[];
  /** Distinct task definitions used by the services' current deployments. */
  readonly taskDefinitionsInUse: number;
  /** Services that must be force-deployed (affected, ECS controller). */
  readonly expectedRedeployed: ReadonlySet<string>;
  /** Affected services UpdateService cannot redeploy (CODE_DEPLOY). */
  readonly expectedNeedsAction: ReadonlySet<string>;
  /** Services referencing the secret by a pinned version: not affected. */
  readonly pinned: ReadonlySet<string>;
  readonly referencesByForm: Readonly<Record<ReferenceForm, number>>;
}

/** mulberry32: a small deterministic PRNG, so every run builds the same account. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function shuffle<T>(items: T[], next: () => number): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}

interface NameValueFrom {
  readonly name: string;
  readonly valueFrom: string;
}

/** The references a task definition of `form` carries, and where. */
function secretReferences(
  form: ReferenceForm,
  variant: number,
): { secrets: NameValueFrom[]; logSecrets: NameValueFrom[] } {
  const secrets: NameValueFrom[] = [];
  const logSecrets: NameValueFrom[] = [];
  // Every other task definition carries the reference in logConfiguration.secretOptions.
  const target = variant % 2 === 0 ? secrets : logSecrets;
  switch (form) {
    case 'full-arn':
      target.push({ name: 'DB_CREDENTIALS', valueFrom: SECRET_ARN });
      break;
    case 'partial-arn':
      target.push({ name: 'DB_CREDENTIALS', valueFrom: SECRET_PARTIAL_ARN });
      break;
    case 'json-key':
      target.push({
        name: 'DB_PASSWORD',
        valueFrom:
          variant % 2 === 0
            ? `${SECRET_ARN}:password::`
            : `${SECRET_PARTIAL_ARN}:password:AWSCURRENT:`,
      });
      break;
    case 'ssm-passthrough':
      target.push({
        name: 'DB_CREDENTIALS',
        valueFrom:
          variant % 2 === 0
            ? `/aws/reference/secretsmanager/${SECRET_NAME}`
            : `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/aws/reference/secretsmanager/${SECRET_NAME}`,
      });
      break;
    case 'pinned-version':
      target.push({
        name: 'DB_PASSWORD',
        valueFrom: `${SECRET_ARN}:password::${VERSION_PREVIOUS}`,
      });
      break;
    case 'none':
      break;
  }
  return { secrets, logSecrets };
}

function registerTaskDefinition(
  sim: SimulatedAws,
  family: string,
  index: number,
  form: ReferenceForm,
): string {
  const { secrets, logSecrets } = secretReferences(form, index);
  return sim.registerTaskDefinition({
    family,
    containerDefinitions: [
      {
        name: 'app',
        environment: Array.from({ length: 8 }, (_, i) => ({
          name: `SETTING_${i}`,
          value: `${family}-value-${i}`,
        })),
        portMappings: [{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' }],
        secrets: [
          // Decoys: other secrets, a name that starts like the changed one, parameters.
          {
            name: 'API_KEY',
            valueFrom: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prod/db-replica-Xy12Ab`,
          },
          {
            name: 'SIGNING_KEY',
            valueFrom: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${family}/signing-Qw34Er:key::`,
          },
          { name: 'CONFIG', valueFrom: `/${family}/config` },
          {
            name: 'FLAGS',
            valueFrom: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/prod/feature-flags`,
          },
          ...secrets,
        ],
        logConfiguration: {
          logDriver: 'awsfirelens',
          options: { Name: 'datadog', dd_service: family },
          secretOptions: [
            {
              name: 'apikey',
              valueFrom: `/aws/reference/secretsmanager/prod/datadog`,
            },
            ...logSecrets,
          ],
        },
      },
      {
        name: 'log-router',
        image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable',
        environment: [{ name: 'FLB_LOG_LEVEL', value: 'info' }],
        repositoryCredentials: {
          credentialsParameter: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:dockerhub-Zx56Cv`,
        },
      },
    ],
  });
}

function seedSecret(sim: SimulatedAws): void {
  sim.createSecret(SECRET_NAME, SECRET_SUFFIX, {
    [VERSION_PREVIOUS]: ['AWSPREVIOUS'],
    [VERSION_CURRENT]: ['AWSCURRENT'],
  });
}

const DAY_MS = 86_400_000;

/**
 * 10 clusters × 200 services; 600 revisions (150 families × 4) all in use, shared by the
 * services (each used 3 or 4 times); 25 revisions used by 4 services each mention the secret:
 * 100 services, 5%, in five forms (full ARN, partial ARN, JSON key, Parameter Store pass-through,
 * pinned version id), half in `secrets`, half in `logConfiguration.secretOptions`. The 20 pinned
 * ones are not affected; the 4 services of one full-ARN revision use CODE_DEPLOY (affected but
 * not redeployable by UpdateService). Every deployment is a day old.
 */
export function largeAccount(options: { readonly latencyMs: number }): BuiltAccount {
  const shape: AccountShape = {
    clusters: 10,
    servicesPerCluster: 200,
    taskDefinitions: 600,
    servicesReferencing: 100,
  };
  return buildAccount(shape, options.latencyMs, 4);
}

/** 1 cluster × 20 services, 10 revisions used twice each; 1 revision (2 services) is affected. */
export function smallAccount(options: { readonly latencyMs: number }): BuiltAccount {
  const shape: AccountShape = {
    clusters: 1,
    servicesPerCluster: 20,
    taskDefinitions: 10,
    servicesReferencing: 2,
  };
  return buildAccount(shape, options.latencyMs, 0);
}

function buildAccount(
  shape: AccountShape,
  latencyMs: number,
  codeDeployServices: number,
): BuiltAccount {
  const sim = new SimulatedAws({ latencyMs, throttling: true });
  const next = random(20_240_206);
  seedSecret(sim);
  const totalServices = shape.clusters * shape.servicesPerCluster;

  // Which revisions mention the secret: the first ones used the most, in a rotating form.
  const usesPerRevision = Math.floor(totalServices / shape.taskDefinitions);
  const extraUses = totalServices % shape.taskDefinitions; // the first `extraUses` get one more
  const referencingUses = extraUses > 0 ? usesPerRevision + 1 : usesPerRevision;
  const referencingRevisions = Math.round(shape.servicesReferencing / referencingUses);
  const forms: ReferenceForm[] = ['full-arn', 'partial-arn', 'json-key', 'ssm-passthrough'];
  if (referencingRevisions >= 5) forms.push('pinned-version');
  const stride = Math.max(
    1,
    Math.floor((extraUses || shape.taskDefinitions) / referencingRevisions),
  );
  const formOf = new Map<number, ReferenceForm>();
  for (let j = 0; j < referencingRevisions; j += 1) {
    formOf.set(j * stride, forms[j % forms.length] ?? 'none');
  }

  const revisions: { arn: string; form: ReferenceForm }[] = [];
  const families = Math.max(1, Math.floor(shape.taskDefinitions / 4));
  for (let t = 0; t < shape.taskDefinitions; t += 1) {
    const form = formOf.get(t) ?? 'none';
    const family = `app-${String(t % families).padStart(3, '0')}`;
    revisions.push({ arn: registerTaskDefinition(sim, family, t, form), form });
  }

  const slots: number[] = [];
  for (let use = 0; use < usesPerRevision; use += 1) {
    for (let t = 0; t < shape.taskDefinitions; t += 1) slots.push(t);
  }
  for (let t = 0; t < extraUses; t += 1) slots.push(t);
  shuffle(slots, next);

  const expectedRedeployed = new Set<string>();
  const expectedNeedsAction = new Set<string>();
  const pinned = new Set<string>();
  const referencesByForm: Record<ReferenceForm, number> = {
    'full-arn': 0,
    'partial-arn': 0,
    'json-key': 0,
    'ssm-passthrough': 0,
    'pinned-version': 0,
    none: 0,
  };
  const deployedAt = new Date(Date.now() - DAY_MS);
  const clusterNames: string[] = [];
  const inUse = new Set<string>();
  let codeDeployLeft = codeDeployServices;
  for (let c = 0; c < shape.clusters; c += 1) {
    const cluster = `cluster-${String(c).padStart(2, '0')}`;
    clusterNames.push(cluster);
    sim.addCluster(cluster);
    for (let s = 0; s < shape.servicesPerCluster; s += 1) {
      const index = c * shape.servicesPerCluster + s;
      const revision = revisions[slots[index] ?? 0];
      if (!revision) throw new Error('account shape: no revision for a service');
      const codeDeploy = revision.form === 'full-arn' && codeDeployLeft > 0;
      if (codeDeploy) codeDeployLeft -= 1;
      const arn = sim.createService({
        cluster,
        name: `svc-${String(index).padStart(4, '0')}`,
        taskDefinition: revision.arn,
        deployedAt,
        ...(codeDeploy && { deploymentController: 'CODE_DEPLOY' as const }),
      });
      inUse.add(revision.arn);
      referencesByForm[revision.form] += 1;
      if (AFFECTING.has(revision.form)) {
        (codeDeploy ? expectedNeedsAction : expectedRedeployed).add(arn);
      } else if (revision.form === 'pinned-version') {
        pinned.add(arn);
      }
    }
  }
  return {
    sim,
    shape,
    clusterNames,
    servicesByCluster: clusterNames.map(() => shape.servicesPerCluster),
    taskDefinitionsInUse: inUse.size,
    expectedRedeployed,
    expectedNeedsAction,
    pinned,
    referencesByForm,
  };
}

/** A native `Secret Label Updated` event for the secret, as EventBridge delivers it. */
export function secretLabelUpdatedEvent(id: string, at: Date): Record<string, unknown> {
  return {
    version: '0',
    id,
    'detail-type': 'Secret Label Updated',
    source: 'aws.secretsmanager',
    account: ACCOUNT,
    // EventBridge times have one-second precision.
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [SECRET_ARN],
    detail: { name: SECRET_NAME, labelUpdated: 'AWSCURRENT', versionId: VERSION_CURRENT },
  };
}
