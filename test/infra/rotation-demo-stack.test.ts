import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app.js';
import { DEMO } from '../../infra/rotation-demo-stack.js';
import { nagFindings, newApp } from './synth.js';

function demoTemplate(context: Record<string, unknown> = {}): Template {
  const { demo } = buildApp(newApp(context));
  return Template.fromStack(demo);
}

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

function only<T>(values: T[]): T {
  expect(values).toHaveLength(1);
  return values[0] as T;
}

const logicalId = (resources: Resources, prefix: string): string =>
  only(Object.keys(resources).filter((id) => id.startsWith(prefix)));

describe('the app', () => {
  it('has the product as its only top-level stack, so a plain cdk deploy never deploys the demo', () => {
    const app = newApp();
    const { product, demo } = buildApp(app);
    const topLevel = app.node.children.filter((child) => Stack.isStack(child));
    expect(topLevel).toEqual([product]);
    expect(demo.node.path).toBe('RotationDemo/Demo');
  });

  it.each(['alternating-users', 'single-user'])(
    'passes the cdk-nag AwsSolutions checks with the %s rotation',
    (rotation) => {
      const { violations, error } = nagFindings((app) => buildApp(app), {
        'demo:rotation': rotation,
      });
      expect(violations).toEqual([]);
      expect(error).toBeUndefined();
    },
  );

  it('gives a reason for every acknowledged finding', () => {
    const app = newApp();
    buildApp(app);
    const acknowledgements = app.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === 'aws:cdk:acknowledged-rules')
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(acknowledgements.length).toBeGreaterThan(5);
    for (const [id, reason] of acknowledgements) {
      expect(reason, id).toMatch(/\w{4,}.*\w{4,}/);
    }
  });

  it('rejects an unknown rotation strategy', () => {
    expect(() => demoTemplate({ 'demo:rotation': 'weekly' })).toThrow(/demo:rotation/);
  });
});

describe('RotationDemo database and rotation', () => {
  it('runs the smallest encrypted PostgreSQL instance, private, in isolated subnets', () => {
    demoTemplate().hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      DBInstanceClass: 'db.t4g.micro',
      StorageEncrypted: true,
      PubliclyAccessible: false,
      MultiAZ: false,
    });
  });

  it('keeps the application credentials in a secret that knows the master secret', () => {
    demoTemplate().hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: DEMO.appSecretName,
      GenerateSecretString: Match.objectLike({
        // A JSON template with the master secret's ARN spliced in: {"username":"app",…,"masterarn":"…"}
        SecretStringTemplate: {
          'Fn::Join': [
            '',
            [
              `{"username":"${DEMO.appUsername}","dbname":"${DEMO.database}","masterarn":"`,
              { Ref: Match.stringLikeRegexp('^DatabaseSecretAttachment') },
              '"}',
            ],
          ],
        },
        GenerateStringKey: 'password',
      }),
    });
  });

  it('rotates the application secret on a schedule with the alternating-users function', () => {
    const template = demoTemplate();
    const applications = resourcesOf(template, 'AWS::Serverless::Application');
    const rotationApp = logicalId(applications, 'AppUserRotation');
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationLambdaARN: { 'Fn::GetAtt': [rotationApp, 'Outputs.RotationLambdaARN'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      SecretId: { Ref: Match.stringLikeRegexp('^AppUserSecretAttachment') },
    });
    expect(JSON.stringify(template.toJSON().Mappings)).toContain(
      'SecretsManagerRDSPostgreSQLRotationMultiUser',
    );
    // The multi-user function manages the users with the master secret.
    expect(JSON.stringify(applications[rotationApp]?.Properties)).toContain('masterSecretArn');
  });

  it('offers the single-user rotation as an option', () => {
    const template = demoTemplate({ 'demo:rotation': 'single-user' });
    const mappings = JSON.stringify(template.toJSON().Mappings);
    expect(mappings).toContain('SecretsManagerRDSPostgreSQLRotationSingleUser');
    expect(mappings).not.toContain('MultiUser');
  });
});

describe('RotationDemo service', () => {
  it('gives the container the user and password as JSON keys of the secret, and the host parameter', () => {
    const template = demoTemplate();
    const secretId = logicalId(
      resourcesOf(template, 'AWS::SecretsManager::Secret'),
      'AppUserSecret',
    );
    const parameterId = logicalId(resourcesOf(template, 'AWS::SSM::Parameter'), 'DatabaseHost');
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: Match.arrayWith([
        Match.objectLike({
          Name: 'app',
          Essential: true,
          Secrets: [
            { Name: 'PGUSER', ValueFrom: { 'Fn::Join': ['', [{ Ref: secretId }, ':username::']] } },
            {
              Name: 'PGPASSWORD',
              ValueFrom: { 'Fn::Join': ['', [{ Ref: secretId }, ':password::']] },
            },
            {
              Name: 'PGHOST',
              ValueFrom: {
                'Fn::Join': ['', Match.arrayWith([':parameter', { Ref: parameterId }])],
              },
            },
          ],
          DependsOn: [{ ContainerName: 'create-app-user', Condition: 'SUCCESS' }],
        }),
      ]),
    });
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: DEMO.hostParameterName,
      Type: 'String',
    });
  });

  it('logs the user it connects as in a loop', () => {
    const template = demoTemplate();
    const definition = only(Object.values(resourcesOf(template, 'AWS::ECS::TaskDefinition')));
    const containers = definition.Properties.ContainerDefinitions as {
      Name: string;
      Command: string[];
      Environment?: unknown;
    }[];
    const app = containers.find((c) => c.Name === 'app');
    expect(app?.Command.join('\n')).toMatch(
      /while true; do[\s\S]*SELECT current_user[\s\S]*connected as/,
    );
    // No plain environment variables: everything sensitive comes through `secrets`.
    for (const container of containers) expect(container.Environment).toBeUndefined();
  });

  it('runs one Fargate task on arm64 with a deployment circuit breaker', () => {
    const template = demoTemplate();
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      Cpu: '256',
      Memory: '512',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
    });
    template.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 1,
      LaunchType: 'FARGATE',
      DeploymentConfiguration: Match.objectLike({
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      }),
    });
  });
});

describe('RotationDemo security groups', () => {
  const ingressInto = (template: Template, groupPrefix: string) => {
    const groups = resourcesOf(template, 'AWS::EC2::SecurityGroup');
    const group = logicalId(groups, groupPrefix);
    const inline = (groups[group]?.Properties.SecurityGroupIngress ?? []) as unknown[];
    const separate = Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroupIngress'))
      .map((r) => r.Properties)
      .filter((p) => JSON.stringify(p.GroupId).includes(group));
    return { group, rules: [...inline, ...separate] as Record<string, unknown>[] };
  };
  const source = (rule: Record<string, unknown>): string =>
    JSON.stringify(rule.SourceSecurityGroupId ?? rule.CidrIp);

  it('lets only the service and the rotation function reach PostgreSQL', () => {
    const template = demoTemplate();
    const { rules } = ingressInto(template, 'DatabaseSecurityGroup');
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.IpProtocol).toBe('tcp');
      expect(source(rule)).toMatch(/ServiceSecurityGroup|RotationSecurityGroup/);
    }
    expect(rules.some((rule) => source(rule).includes('ServiceSecurityGroup'))).toBe(true);
    expect(rules.some((rule) => source(rule).includes('RotationSecurityGroup'))).toBe(true);
  });

  it('lets only the rotation function reach the Secrets Manager endpoint, over HTTPS', () => {
    const { rules } = ingressInto(demoTemplate(), 'EndpointSecurityGroup');
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 });
    expect(source(rules[0] ?? {})).toMatch(/RotationSecurityGroup/);
  });

  it('admits nothing into the service, and lets it out only to PostgreSQL and HTTPS', () => {
    const template = demoTemplate();
    const { rules } = ingressInto(template, 'ServiceSecurityGroup');
    expect(rules).toEqual([]);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Demo service'),
      SecurityGroupEgress: [
        {
          CidrIp: '0.0.0.0/0',
          FromPort: 443,
          ToPort: 443,
          IpProtocol: 'tcp',
          Description: Match.anyValue(),
        },
      ],
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ServiceSecurityGroup'), 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
      DestinationSecurityGroupId: {
        'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'],
      },
    });
  });
});

describe('RotationDemo redeployer', () => {
  it('watches only the demo cluster and the demo names', () => {
    const template = demoTemplate();
    const clusterId = logicalId(resourcesOf(template, 'AWS::ECS::Cluster'), 'Cluster');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Environment: {
        Variables: Match.objectLike({
          CLUSTERS: { 'Fn::GetAtt': [clusterId, 'Arn'] },
          SECRET_NAME_PREFIXES: DEMO.secretPrefix,
          PARAMETER_NAME_PREFIXES: DEMO.parameterPrefix,
        }),
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        'detail-type': ['Secret Label Updated'],
        detail: Match.objectLike({ name: [{ prefix: DEMO.secretPrefix }] }),
      }),
    });
  });

  it('settles changes for 10 seconds only, for a snappy walkthrough', () => {
    demoTemplate().hasResourceProperties('AWS::SQS::Queue', {
      DelaySeconds: 10,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }),
    });
  });

  it('can be left out when the product stack already watches the account', () => {
    const template = demoTemplate({ 'demo:withRedeployer': 'false' });
    template.resourceCountIs('AWS::Events::Rule', 0);
    template.resourceCountIs('AWS::SQS::Queue', 0);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });
});
