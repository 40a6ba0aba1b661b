/**
 * SecretRedeployer with rollouts (the default): the rollout table, the rollout engine (a Lambda
 * durable function behind its `live` alias), what the change handler is told and allowed, the
 * rule for ECS deployment events, the rollout metrics, alarms and dashboard, and `rollouts:
 * false`, which builds the redeployer as it was before rollouts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { deploymentStateChangePattern } from '../../infra/event-patterns.js';
import {
  type RedeployerMetricName,
  SecretRedeployer,
  type SecretRedeployerProps,
} from '../../infra/secret-redeployer.js';
import {
  VALUE_READING_ACTIONS,
  grantedActions,
  grants,
  roleActions,
  roleStatements,
  statements,
} from './iam.js';
import { constructTemplate, nagFindings, newApp } from './synth.js';

const HOME = { account: '123456789012', region: 'eu-west-1' };

type Resource = {
  Properties: Record<string, unknown>;
  DependsOn?: string[];
  DeletionPolicy?: string;
};

interface Built {
  readonly stack: Stack;
  readonly redeployer: SecretRedeployer;
  readonly template: Template;
  /** Logical ids of the parts under test. */
  readonly ids: {
    readonly intake: string;
    readonly intakeRole: string;
    readonly engine: string;
    readonly engineRole: string;
    readonly alias: string;
    readonly table: string;
  };
}

/** The logical id of a construct's CloudFormation resource. */
function logicalId(stack: Stack, construct: IConstruct | undefined): string {
  expect(construct).toBeDefined();
  return stack.getLogicalId((construct as IConstruct).node.defaultChild as CfnElement);
}

/** A redeployer in HOME built with `props(stack)`, and the logical ids of its rollout parts. */
function build(props: (stack: Stack) => SecretRedeployerProps = () => ({})): Built {
  const app = newApp();
  const stack = new Stack(app, 'S', { env: HOME });
  const redeployer = new SecretRedeployer(stack, 'R', props(stack));
  const template = Template.fromStack(stack);
  return {
    stack,
    redeployer,
    template,
    ids: {
      intake: logicalId(stack, redeployer.function),
      intakeRole: logicalId(stack, redeployer.function.role),
      engine: logicalId(stack, redeployer.engine),
      engineRole: logicalId(stack, redeployer.engine?.role),
      alias: logicalId(stack, redeployer.engineAlias),
      table: logicalId(stack, redeployer.rolloutTable),
    },
  };
}

const clustersOf =
  (...names: string[]) =>
  (stack: Stack): ecs.ICluster[] =>
    names.map((name) =>
      ecs.Cluster.fromClusterArn(
        stack,
        `Cluster-${name}`,
        `arn:aws:ecs:${HOME.region}:${HOME.account}:cluster/${name}`,
      ),
    );

function resource(template: Template, id: string): Resource {
  const found = (template.toJSON() as { Resources: Record<string, Resource> }).Resources[id];
  expect(found, id).toBeDefined();
  return found as Resource;
}

function variables(template: Template, functionId: string): Record<string, unknown> {
  return (
    resource(template, functionId).Properties.Environment as {
      Variables: Record<string, unknown>;
    }
  ).Variables;
}

/** Logical ids `value` refers to (Ref, Fn::GetAtt), anywhere inside it. */
function references(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) references(item, found);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') found.add(inner);
      else if (key === 'Fn::GetAtt' && Array.isArray(inner)) found.add(String(inner[0]));
      else references(inner, found);
    }
  }
  return found;
}

/** A cycle of the template's dependencies (Ref, GetAtt, DependsOn), if there is one. */
function dependencyCycle(template: Template): string[] | undefined {
  const resources = (template.toJSON() as { Resources: Record<string, Resource> }).Resources;
  const edges = new Map<string, string[]>();
  for (const [id, r] of Object.entries(resources)) {
    const targets = [...references(r.Properties), ...(r.DependsOn ?? [])];
    edges.set(
      id,
      targets.filter((target) => target in resources && target !== id),
    );
  }
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string, path: string[]): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'open') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'open');
    for (const next of edges.get(id) ?? []) {
      const cycle = visit(next, [...path, id]);
      if (cycle) return cycle;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const id of edges.keys()) {
    const cycle = visit(id, []);
    if (cycle) return cycle;
  }
  return undefined;
}

const tableArn = (ids: Built['ids']) => ({ 'Fn::GetAtt': [ids.table, 'Arn'] });
const indexArn = (ids: Built['ids']) => ({
  'Fn::Join': ['', [tableArn(ids), '/index/ByTime']],
});
const executionsArn = (ids: Built['ids']) => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.engine, 'Arn'] }, ':*']],
});

describe('the rollout table', () => {
  it('has the keys, index and TTL of the rollout store, on demand, encrypted, with PITR', () => {
    const { template, ids } = build();
    expect(resource(template, ids.table)).toMatchObject({
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: expect.arrayContaining([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gsi1pk', AttributeType: 'S' },
          { AttributeName: 'gsi1sk', AttributeType: 'S' },
        ]) as unknown,
        GlobalSecondaryIndexes: [
          {
            IndexName: 'ByTime',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
      // Disposable with the stack (see the comment in infra/rollout-engine.ts).
      DeletionPolicy: 'Delete',
    });
    const attributes = (resource(template, ids.table).Properties.AttributeDefinitions as unknown[])
      .length;
    expect(attributes).toBe(4);
  });
});

describe('the rollout engine', () => {
  it('is a durable function on the newest Node.js runtime, arm64, 256 MiB, 5 minutes an invocation', () => {
    const { template, ids } = build();
    expect(resource(template, ids.engine).Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 256,
      Timeout: 300,
      // flap guard period (1 hour) + stuckAfter (30 minutes) + 1 day
      DurableConfig: { ExecutionTimeout: 3600 + 1800 + 86400, RetentionPeriodInDays: 14 },
      Role: { 'Fn::GetAtt': [ids.engineRole, 'Arn'] },
      LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/^RRolloutsLogGroup/) as unknown } },
    });
    // Two functions: the change handler and the engine; neither reserves concurrency.
    template.resourceCountIs('AWS::Lambda::Function', 2);
    expect(resource(template, ids.engine).Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('keeps its logs for the configured retention in a log group of its own', () => {
    const { template, ids } = build();
    const logGroupId = (
      resource(template, ids.engine).Properties.LoggingConfig as { LogGroup: { Ref: string } }
    ).LogGroup.Ref;
    expect(resource(template, logGroupId).Properties).toMatchObject({ RetentionInDays: 30 });
    const intakeLogGroup = (
      resource(template, ids.intake).Properties.LoggingConfig as { LogGroup: { Ref: string } }
    ).LogGroup.Ref;
    expect(intakeLogGroup).not.toBe(logGroupId);
  });

  it('runs each execution for the flap guard period + stuckAfter + 1 day unless told otherwise', () => {
    const timeout = (props: SecretRedeployerProps) =>
      (
        resource(build(() => props).template, build(() => props).ids.engine).Properties
          .DurableConfig as { ExecutionTimeout: number }
      ).ExecutionTimeout;
    expect(timeout({ flapGuard: false })).toBe(1800 + 86400);
    expect(
      timeout({
        flapGuard: { maxDeployments: 2, period: Duration.days(2) },
        rollouts: { stuckAfter: Duration.hours(2) },
      }),
    ).toBe(2 * 86400 + 7200 + 86400);
    expect(timeout({ rollouts: { executionTimeout: Duration.days(30) } })).toBe(30 * 86400);
  });

  it('is told its table, the brakes, the flap guard, the topic and the rollout settings', () => {
    const { template, ids, stack } = build((s) => ({
      notificationTopic: new sns.Topic(s, 'Topic', { enforceSSL: true }),
      maxDeploymentsInProgress: 7,
      brakeRetryDelay: Duration.minutes(2),
      flapGuard: { maxDeployments: 4, period: Duration.hours(2) },
      metricsNamespace: 'Platform/Redeploy',
      rollouts: {
        stuckAfter: Duration.minutes(45),
        pollInterval: Duration.seconds(20),
        confirmAfter: Duration.minutes(3),
      },
    }));
    const topic = logicalId(stack, stack.node.findChild('Topic'));
    expect(variables(template, ids.engine)).toEqual({
      ROLLOUT_TABLE_NAME: { Ref: ids.table },
      STUCK_AFTER_SECONDS: '2700',
      ROLLOUT_POLL_SECONDS: '20',
      CONFIRM_AFTER_SECONDS: '180',
      FLAP_TABLE_NAME: { Ref: expect.stringMatching(/^RFlapTable/) as unknown },
      FLAP_MAX_DEPLOYMENTS: '4',
      FLAP_PERIOD_SECONDS: '7200',
      MAX_DEPLOYMENTS_IN_PROGRESS: '7',
      BRAKE_RETRY_SECONDS: '120',
      NOTIFICATION_TOPIC_ARN: { Ref: topic },
      METRICS_NAMESPACE: 'Platform/Redeploy',
      LOG_LEVEL: 'INFO',
      AWS_MAX_ATTEMPTS: '10',
    });
  });

  it('is told no flap table with the flap guard off', () => {
    const { template, ids } = build(() => ({ flapGuard: false }));
    const env = variables(template, ids.engine);
    expect(env.FLAP_TABLE_NAME).toBe('');
    expect(env).not.toHaveProperty('FLAP_MAX_DEPLOYMENTS');
    expect(roleStatements(template, ids.engineRole).map((s) => s.Sid)).not.toContain(
      'FlapGuardState',
    );
  });

  it('references nothing of the change handler: the two functions never depend on each other in a cycle', () => {
    const { template, ids } = build((s) => ({
      clusters: clustersOf('prod')(s),
      notificationTopic: new sns.Topic(s, 'Topic', { enforceSSL: true }),
      alarmTopic: new sns.Topic(s, 'Alarms', { enforceSSL: true }),
    }));
    const engineRefs = references(resource(template, ids.engine).Properties);
    expect(engineRefs).not.toContain(ids.intake);
    expect(engineRefs).not.toContain(ids.intakeRole);
    expect(dependencyCycle(template)).toBeUndefined();
    // The change handler does depend on the engine: it is told the alias.
    expect(references(resource(template, ids.intake).Properties)).toContain(ids.alias);
  });

  it('is started through its `live` alias on its current version, which waits for the checkpoint policy', () => {
    const { template, ids } = build();
    template.resourceCountIs('AWS::Lambda::Alias', 1);
    template.resourceCountIs('AWS::Lambda::Version', 1);
    const alias = resource(template, ids.alias);
    expect(alias.Properties).toEqual({
      Name: 'live',
      FunctionName: { Ref: ids.engine },
      FunctionVersion: {
        'Fn::GetAtt': [expect.stringMatching(/^RRolloutsFunctionCurrentVersion/), 'Version'],
      },
    });
    const policies = template.findResources('AWS::IAM::Policy');
    const durablePolicy = Object.keys(policies).find((id) =>
      JSON.stringify(policies[id]).includes('lambda:CheckpointDurableExecution'),
    );
    expect(alias.DependsOn).toContain(durablePolicy);
    // Versions are kept, so a deployment never removes the code of a running execution.
    template.hasResource('AWS::Lambda::Version', {
      Properties: { FunctionName: { Ref: ids.engine } },
      DeletionPolicy: 'Retain',
    });
  });
});

describe('the change handler, with rollouts', () => {
  it('is told the table, the engine alias and the rollout settings', () => {
    const { template, ids } = build();
    expect(variables(template, ids.intake)).toMatchObject({
      ROLLOUT_TABLE_NAME: { Ref: ids.table },
      ROLLOUT_ENGINE_ARN: { Ref: ids.alias },
      STUCK_AFTER_SECONDS: '1800',
      ROLLOUT_POLL_SECONDS: '60',
      CONFIRM_AFTER_SECONDS: '120',
    });
  });

  it('is granted the rollout store, DescribeParameters, starting the engine through its alias and waking it', () => {
    const { template, ids } = build();
    const intake = roleStatements(template, ids.intakeRole);
    expect(intake).toEqual(
      expect.arrayContaining([
        {
          Sid: 'RolloutState',
          Effect: 'Allow',
          Action: [
            'dynamodb:GetItem',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'dynamodb:DeleteItem',
            'dynamodb:Query',
          ],
          Resource: [tableArn(ids), indexArn(ids)],
        },
        {
          Sid: 'StartRolloutEngine',
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: { Ref: ids.alias },
        },
        {
          Sid: 'WakeRolloutEngine',
          Effect: 'Allow',
          Action: 'lambda:SendDurableExecutionCallbackSuccess',
          Resource: executionsArn(ids),
        },
        {
          Sid: 'DescribeParameters',
          Effect: 'Allow',
          Action: 'ssm:DescribeParameters',
          Resource: '*',
        },
      ]),
    );
    expect(roleActions(template, ids.intakeRole)).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'ecs:DescribeServices',
      'ecs:DescribeTaskDefinition',
      'ecs:ListClusters',
      'ecs:ListServices',
      'ecs:ListTagsForResource',
      'ecs:UpdateService',
      'lambda:InvokeFunction',
      'lambda:SendDurableExecutionCallbackSuccess',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:DescribeSecret',
      'secretsmanager:ListSecretVersionIds',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
      'ssm:DescribeParameters',
      // The secret-redeployer:waves tag of a changed parameter (waves for tagged changes).
      'ssm:ListTagsForResource',
    ]);
  });

  it('may invoke the engine only through its alias, and call back only its executions; nothing else may', () => {
    const { template, ids } = build();
    const lambdaStatements = statements(template).filter((statement) =>
      ([] as string[])
        .concat(statement.Action as string | string[])
        .some((action) => action.startsWith('lambda:')),
    );
    expect(lambdaStatements.map((s) => [s.Sid, s.Action, s.Resource])).toEqual(
      expect.arrayContaining([
        ['StartRolloutEngine', 'lambda:InvokeFunction', { Ref: ids.alias }],
        ['WakeRolloutEngine', 'lambda:SendDurableExecutionCallbackSuccess', executionsArn(ids)],
        [
          'DurableExecution',
          ['lambda:CheckpointDurableExecution', 'lambda:GetDurableExecutionState'],
          executionsArn(ids),
        ],
      ]),
    );
    expect(lambdaStatements).toHaveLength(3);
    // Only the engine checkpoints; only the change handler starts and wakes it.
    expect(roleActions(template, ids.engineRole).filter((a) => a.startsWith('lambda:'))).toEqual([
      'lambda:CheckpointDurableExecution',
      'lambda:GetDurableExecutionState',
    ]);
    // No resource policy lets anything else invoke the engine.
    for (const permission of Object.values(template.findResources('AWS::Lambda::Permission'))) {
      expect(JSON.stringify(permission)).not.toContain(ids.engine);
      expect(JSON.stringify(permission)).not.toContain(ids.alias);
    }
  });
});

describe('the engine role', () => {
  it('grants exactly its logs, the tables, ECS, its notifications and its own durable executions', () => {
    const { template, ids, stack } = build((s) => ({
      notificationTopic: new sns.Topic(s, 'Topic', { enforceSSL: true }),
    }));
    const topic = logicalId(stack, stack.node.findChild('Topic'));
    expect(roleStatements(template, ids.engineRole)).toEqual([
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RRolloutsLogGroup/), 'Arn'] },
      },
      {
        Sid: 'RolloutState',
        Effect: 'Allow',
        Action: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
        ],
        Resource: [tableArn(ids), indexArn(ids)],
      },
      {
        Sid: 'FlapGuardState',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RFlapTable/), 'Arn'] },
      },
      {
        Sid: 'DescribeAndRedeployServices',
        Effect: 'Allow',
        Action: ['ecs:DescribeServices', 'ecs:UpdateService'],
        Resource: `arn:aws:ecs:${HOME.region}:${HOME.account}:service/*`,
      },
      {
        Sid: 'ReadServiceDeployments',
        Effect: 'Allow',
        Action: ['ecs:ListServiceDeployments', 'ecs:DescribeServiceDeployments'],
        Resource: [
          `arn:aws:ecs:${HOME.region}:${HOME.account}:service/*`,
          `arn:aws:ecs:${HOME.region}:${HOME.account}:service-deployment/*`,
        ],
      },
      { Sid: 'ListStoppedTasks', Effect: 'Allow', Action: 'ecs:ListTasks', Resource: '*' },
      {
        Sid: 'DescribeStoppedTasks',
        Effect: 'Allow',
        Action: 'ecs:DescribeTasks',
        Resource: `arn:aws:ecs:${HOME.region}:${HOME.account}:task/*`,
      },
      {
        Sid: 'PublishNotifications',
        Effect: 'Allow',
        Action: 'sns:Publish',
        Resource: { Ref: topic },
      },
      {
        Sid: 'DurableExecution',
        Effect: 'Allow',
        Action: ['lambda:CheckpointDurableExecution', 'lambda:GetDurableExecutionState'],
        Resource: executionsArn(ids),
      },
    ]);
  });

  it('scopes ECS to the configured clusters: services, ListTasks by condition, task ARNs', () => {
    const { template, ids } = build((s) => ({ clusters: clustersOf('prod', 'staging')(s) }));
    const byId: Record<string, Record<string, unknown> | undefined> = Object.fromEntries(
      roleStatements(template, ids.engineRole).map((s) => [String(s.Sid), s] as const),
    );
    expect(byId.DescribeAndRedeployServices?.Resource).toEqual([
      `arn:aws:ecs:${HOME.region}:${HOME.account}:service/prod/*`,
      `arn:aws:ecs:${HOME.region}:${HOME.account}:service/staging/*`,
    ]);
    expect(byId.ListStoppedTasks).toEqual({
      Sid: 'ListStoppedTasks',
      Effect: 'Allow',
      Action: 'ecs:ListTasks',
      Resource: '*',
      Condition: {
        ArnEquals: {
          'ecs:cluster': [
            `arn:aws:ecs:${HOME.region}:${HOME.account}:cluster/prod`,
            `arn:aws:ecs:${HOME.region}:${HOME.account}:cluster/staging`,
          ],
        },
      },
    });
    expect(byId.DescribeStoppedTasks?.Resource).toEqual([
      `arn:aws:ecs:${HOME.region}:${HOME.account}:task/prod/*`,
      `arn:aws:ecs:${HOME.region}:${HOME.account}:task/staging/*`,
    ]);
    expect(byId.ReadServiceDeployments?.Resource).toEqual([
      `arn:aws:ecs:${HOME.region}:${HOME.account}:service/prod/*`,
      `arn:aws:ecs:${HOME.region}:${HOME.account}:service/staging/*`,
      `arn:aws:ecs:${HOME.region}:${HOME.account}:service-deployment/prod/*`,
      `arn:aws:ecs:${HOME.region}:${HOME.account}:service-deployment/staging/*`,
    ]);
    // The engine may force-deploy exactly the services the change handler may.
    const intake = roleStatements(template, ids.intakeRole).find(
      (s) => s.Sid === 'DescribeAndRedeployServices',
    );
    expect(intake?.Resource).toEqual(byId.DescribeAndRedeployServices?.Resource);
  });

  it('uses no managed policy (not AWSLambdaBasicDurableExecutionRolePolicy)', () => {
    const { template, ids } = build();
    expect(resource(template, ids.engineRole).Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('neither role reads a value', () => {
  it.each<[string, (stack: Stack) => SecretRedeployerProps]>([
    ['defaults', () => ({})],
    [
      'clusters, prefixes and a topic with a customer managed key',
      (stack) => {
        const topic = new sns.Topic(stack, 'Topic', {
          masterKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }),
          enforceSSL: true,
        });
        return {
          clusters: clustersOf('prod')(stack),
          secretNamePrefixes: ['prod/'],
          parameterNamePrefixes: ['/prod/'],
          enableCloudTrailRule: true,
          notificationTopic: topic,
          alarmTopic: topic,
        };
      },
    ],
  ])('%s', (_name, props) => {
    const { template, ids } = build(props);
    for (const role of [ids.intakeRole, ids.engineRole]) {
      const actions = roleActions(template, role);
      expect(actions.length).toBeGreaterThan(0);
      for (const forbidden of VALUE_READING_ACTIONS) {
        expect(
          actions.filter((action) => grants(action, forbidden)),
          role,
        ).toEqual([]);
      }
      expect(actions.filter((action) => action.toLowerCase().startsWith('kms:'))).toEqual([]);
    }
    for (const forbidden of VALUE_READING_ACTIONS) {
      expect(grantedActions(template).filter((action) => grants(action, forbidden))).toEqual([]);
    }
  });
});

describe('the deployment event rule', () => {
  it('sends the end of every deployment in the account and Region straight to the function, retried, then dead-lettered', () => {
    const { template, redeployer, stack, ids } = build();
    const rule = resource(template, logicalId(stack, redeployer.deploymentEventRule));
    expect(rule.Properties).toMatchObject({
      State: 'ENABLED',
      EventPattern: {
        ...deploymentStateChangePattern(),
        account: [HOME.account],
        region: [HOME.region],
      },
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [ids.intake, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 21600 },
          DeadLetterConfig: {
            Arn: stack.resolve(redeployer.deadLetterQueue.queueArn) as unknown,
          },
        },
      ],
    });
    // The event itself is the input (no transformer): the function reads its envelope.
    const target = (rule.Properties.Targets as Record<string, unknown>[])[0];
    expect(target).not.toHaveProperty('Input');
    expect(target).not.toHaveProperty('InputTransformer');
  });

  it('matches only the services of the configured clusters', () => {
    const { template, redeployer, stack } = build((s) => ({
      clusters: clustersOf('prod', 'staging')(s),
    }));
    const rule = resource(template, logicalId(stack, redeployer.deploymentEventRule));
    expect((rule.Properties.EventPattern as { resources: unknown }).resources).toEqual([
      { prefix: `arn:aws:ecs:${HOME.region}:${HOME.account}:service/prod/` },
      { prefix: `arn:aws:ecs:${HOME.region}:${HOME.account}:service/staging/` },
    ]);
  });
});

describe('rollout metrics', () => {
  const METHODS: [keyof SecretRedeployer, RedeployerMetricName, 'engine' | 'function'][] = [
    ['metricRolloutsUnwatched', 'RolloutsUnwatched', 'function'],
    ['metricSweepErrors', 'SweepErrors', 'function'],
    ['metricRolloutsEnded', 'RolloutsEnded', 'engine'],
    ['metricRolloutDuration', 'RolloutDuration', 'engine'],
    ['metricDeploymentsCompleted', 'DeploymentsCompleted', 'engine'],
    ['metricDeploymentsFailed', 'DeploymentsFailed', 'engine'],
    ['metricDeploymentsRolledBack', 'DeploymentsRolledBack', 'engine'],
    ['metricDeploymentsStuck', 'DeploymentsStuck', 'engine'],
    ['metricServicesOwed', 'ServicesOwed', 'engine'],
  ];
  const metricOf = (
    redeployer: SecretRedeployer,
    method: keyof SecretRedeployer,
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric =>
    (redeployer[method] as (p?: cloudwatch.MetricOptions) => cloudwatch.Metric).call(
      redeployer,
      props,
    );

  it.each(METHODS)('%s is %s by the FunctionName of the %s', (method, name, writer) => {
    const { stack, redeployer } = constructTemplate();
    const metric = metricOf(redeployer, method);
    expect(metric.metricName).toBe(name);
    expect(metric.namespace).toBe('EcsSecretRedeployer');
    expect(metric.statistic).toBe(name === 'RolloutDuration' ? 'Average' : 'Sum');
    expect(metric.period.toSeconds()).toBe(300);
    const fn = writer === 'engine' ? redeployer.engine : redeployer.function;
    expect(stack.resolve(metric.dimensions)).toEqual({
      FunctionName: stack.resolve(fn?.functionName) as unknown,
    });
  });

  it("lets the caller's statistic win for the rollout duration", () => {
    const { redeployer } = constructTemplate();
    expect(redeployer.metricRolloutDuration({ statistic: 'p90' }).statistic).toBe('p90');
  });

  it('refuses an engine metric with rollouts off (nothing writes it)', () => {
    const { redeployer } = constructTemplate({ rollouts: false });
    expect(() => redeployer.metricDeploymentsFailed()).toThrow(
      /DeploymentsFailed is written by the rollout engine, and rollouts are off/,
    );
    // The change handler's own rollout metrics still resolve (they simply stay empty).
    expect(redeployer.metricServicesNeedingAction().metricName).toBe('ServicesNeedingAction');
  });
});

describe('rollout alarms', () => {
  const threshold = {
    Threshold: 1,
    EvaluationPeriods: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
  };

  it('alarm on deployments failed, rolled back or stuck: one metric-math alarm on the engine', () => {
    const { template, ids } = build();
    const metric = (name: string) =>
      Match.objectLike({
        MetricStat: Match.objectLike({
          Metric: {
            Namespace: 'EcsSecretRedeployer',
            MetricName: name,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.engine } }],
          },
          Stat: 'Sum',
        }),
        ReturnData: false,
      });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({
          Expression: 'FILL(failed, 0) + FILL(rolledBack, 0) + FILL(stuck, 0)',
        }),
        metric('DeploymentsFailed'),
        metric('DeploymentsRolledBack'),
        metric('DeploymentsStuck'),
      ]),
      ...threshold,
    });
  });

  it.each([
    ['ServicesNeedingAction', 'the change handler'],
    ['RolloutsUnwatched', 'the change handler'],
    ['SweepErrors', 'the change handler'],
  ])('alarm on %s of %s', (name) => {
    const { template, ids } = build();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'EcsSecretRedeployer',
      MetricName: name,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.intake } }],
      Statistic: 'Sum',
      ...threshold,
    });
  });

  it('alarm on errors of the engine', () => {
    const { template, ids } = build();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.engine } }],
      Period: 60,
      ...threshold,
    });
  });

  it('have no sweep errors alarm with the sweep off', () => {
    const { redeployer, template } = build(() => ({ sweep: false }));
    expect(redeployer.sweepErrorsAlarm).toBeUndefined();
    expect(redeployer.deploymentProblemsAlarm).toBeDefined();
    template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
  });

  it('alarm while a rollout in waves is halted: the engine’s gauge, its state kept between writes', () => {
    const { redeployer, template, ids } = build();
    expect(redeployer.haltedRolloutsAlarm).toBeDefined();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'EcsSecretRedeployer',
      MetricName: 'RolloutsHalted',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.engine } }],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'ignore',
    });
  });

  it('have no halted-rollouts alarm with waves off', () => {
    const { redeployer, template } = build(() => ({ waves: false }));
    expect(redeployer.haltedRolloutsAlarm).toBeUndefined();
    template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
  });
});

describe('the dashboard', () => {
  it('has a Rollouts row: ended and duration, deployments by end, owed and unwatched', () => {
    const { template } = build();
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dashboard?.Properties);
    expect(body).toContain('## Rollouts');
    for (const name of [
      'RolloutsEnded',
      'RolloutDuration',
      'DeploymentsCompleted',
      'DeploymentsFailed',
      'DeploymentsRolledBack',
      'DeploymentsStuck',
      'ServicesOwed',
      'RolloutsUnwatched',
      'SweepErrors',
    ]) {
      expect(body).toContain(`\\"${name}\\"`);
    }
    expect(body).toMatch(/RRolloutsFunction[0-9A-F]+/);
  });
});

describe('rollouts: false', () => {
  it('builds the redeployer without rollouts: no rollout table, engine, alias or ECS rule', () => {
    const { template, redeployer } = constructTemplate({ rollouts: false });
    expect(redeployer.rolloutTable).toBeUndefined();
    expect(redeployer.engine).toBeUndefined();
    expect(redeployer.engineAlias).toBeUndefined();
    expect(redeployer.deploymentEventRule).toBeUndefined();
    expect(redeployer.deploymentProblemsAlarm).toBeUndefined();
    expect(redeployer.unwatchedRolloutsAlarm).toBeUndefined();
    expect(redeployer.engineErrorsAlarm).toBeUndefined();
    expect(redeployer.sweepErrorsAlarm).toBeUndefined();
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.resourceCountIs('AWS::Lambda::Alias', 0);
    template.resourceCountIs('AWS::Lambda::Version', 0);
    // The flap table only.
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    // The three change rules and the sweep.
    template.resourceCountIs('AWS::Events::Rule', 4);
    // The four alarms of before, and the needs-action alarm.
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    const env = (
      Object.values(template.findResources('AWS::Lambda::Function'))[0]?.Properties as {
        Environment: { Variables: Record<string, unknown> };
      }
    ).Environment.Variables;
    for (const name of [
      'ROLLOUT_TABLE_NAME',
      'ROLLOUT_ENGINE_ARN',
      'STUCK_AFTER_SECONDS',
      'ROLLOUT_POLL_SECONDS',
      'CONFIRM_AFTER_SECONDS',
    ]) {
      expect(env).not.toHaveProperty(name);
    }
    expect(grantedActions(template).filter((action) => action.startsWith('lambda:'))).toEqual([]);
    expect(JSON.stringify(template.toJSON())).not.toContain('aws.ecs');
    // Braked changes still go back on the change queue.
    expect(statements(template).map((s) => s.Sid)).toContain('RequeueBrakedChanges');
  });

  it('reads the dashboard without the Rollouts row', () => {
    const { template } = constructTemplate({ rollouts: false });
    const body = JSON.stringify(
      Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties,
    );
    expect(body).not.toContain('Rollouts');
    expect(body).not.toContain('DeploymentsFailed');
  });
});

describe('invalid rollout props', () => {
  it.each<[SecretRedeployerProps, RegExp]>([
    [
      { rollouts: { stuckAfter: Duration.seconds(59) } },
      /rollouts.stuckAfter must be from 1 minute to 7 days/,
    ],
    [
      { rollouts: { stuckAfter: Duration.days(8) } },
      /rollouts.stuckAfter must be from 1 minute to 7 days/,
    ],
    [
      { rollouts: { stuckAfter: Duration.millis(90_500) } },
      /rollouts.stuckAfter must be a whole number of seconds/,
    ],
    [
      { rollouts: { pollInterval: Duration.seconds(4) } },
      /rollouts.pollInterval must be from 5 seconds to 1 hour/,
    ],
    [
      { rollouts: { pollInterval: Duration.hours(2) } },
      /rollouts.pollInterval must be from 5 seconds to 1 hour/,
    ],
    [
      { rollouts: { confirmAfter: Duration.seconds(9) } },
      /rollouts.confirmAfter must be from 10 seconds to 1 hour/,
    ],
    [
      { rollouts: { confirmAfter: Duration.minutes(61) } },
      /rollouts.confirmAfter must be from 10 seconds to 1 hour/,
    ],
    [
      { rollouts: { executionTimeout: Duration.hours(23) } },
      /rollouts.executionTimeout must be from 1 day to 366 days/,
    ],
    [
      { rollouts: { executionTimeout: Duration.days(367) } },
      /rollouts.executionTimeout must be from 1 day to 366 days/,
    ],
    [
      { rollouts: { stuckAfter: Duration.days(7), executionTimeout: Duration.days(2) } },
      /rollouts.executionTimeout \(2 days\) must be longer than rollouts.stuckAfter \(7 days\)/,
    ],
    [
      { rollouts: false, sweep: false },
      /rollouts: false with the flap guard on needs the sweep: .*nothing would ever redeploy it/,
    ],
  ])('rejects %j', (props, message) => {
    expect(() => constructTemplate(props)).toThrow(message);
  });

  it('accepts rollouts off with the sweep off when the flap guard is off too', () => {
    expect(() =>
      constructTemplate({ rollouts: false, sweep: false, flapGuard: false }),
    ).not.toThrow();
  });
});

describe('cdk-nag AwsSolutions checks with rollouts', () => {
  const nagStack = (props: (stack: Stack, topic: sns.ITopic) => SecretRedeployerProps) =>
    nagFindings((app) => {
      const stack = new Stack(app, 'S', { env: HOME });
      const masterKey = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      const topic = new sns.Topic(stack, 'Topic', { masterKey, enforceSSL: true });
      new SecretRedeployer(stack, 'R', props(stack, topic));
    });

  it.each<[string, (stack: Stack, topic: sns.ITopic) => SecretRedeployerProps]>([
    [
      'clusters, a topic and every rollout setting',
      (stack, topic) => ({
        clusters: clustersOf('prod', 'staging')(stack),
        notificationTopic: topic,
        alarmTopic: topic,
        secretNamePrefixes: ['prod/'],
        rollouts: {
          stuckAfter: Duration.minutes(10),
          pollInterval: Duration.seconds(15),
          confirmAfter: Duration.minutes(1),
          executionTimeout: Duration.days(3),
        },
      }),
    ],
    ['rollouts with the sweep and the flap guard off', () => ({ sweep: false, flapGuard: false })],
    ['rollouts off', () => ({ rollouts: false })],
  ])('find nothing unacknowledged: %s', (_name, props) => {
    const { violations, error } = nagStack(props);
    expect(violations).toEqual([]);
    expect(error).toBeUndefined();
  });
});

describe('the engine bundle', () => {
  it('is built from functions/rollout/handler.ts, the change handler from functions/redeploy', () => {
    const app = newApp({}, true);
    const stack = new Stack(app, 'S', { env: HOME });
    const redeployer = new SecretRedeployer(stack, 'R');
    const assembly = app.synth();
    const template = Template.fromStack(stack);
    const codeOf = (fn: IConstruct | undefined): string => {
      const key = (resource(template, logicalId(stack, fn)).Properties.Code as { S3Key: string })
        .S3Key;
      return readFileSync(
        join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'),
        'utf8',
      );
    };
    const engine = codeOf(redeployer.engine);
    const intake = codeOf(redeployer.function);
    // Strings of the two entry points (functions/rollout/handler.ts, functions/redeploy/handler.ts).
    expect(engine).toContain('the rollout engine needs its table');
    expect(intake).not.toContain('the rollout engine needs its table');
    expect(intake).toContain('change deferred');
    expect(engine).not.toContain('change deferred');
  });
});
