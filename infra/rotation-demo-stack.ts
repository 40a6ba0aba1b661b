/**
 * RotationDemo: the reason people want the redeployer, end to end in one account.
 *
 * An RDS PostgreSQL instance whose application credentials live in Secrets Manager and rotate,
 * an ECS Fargate service that gets them through `secrets` (JSON keys) plus one SSM parameter and
 * proves every few seconds that it can connect, and the redeployer wired to both. Deployed only
 * on request (`npx cdk deploy 'RotationDemo/*'`); see README, "Rotation demo".
 */
import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct, IConstruct } from 'constructs';
import { SecretRedeployer } from './secret-redeployer.js';

/**
 * How the application user's password rotates.
 * - `alternating-users` (default): each rotation changes the password of the *other* of two
 *   users (`app`, `app_clone`) and then switches `AWSCURRENT` to it. The user running tasks
 *   hold stays valid until the next rotation: no failed connections while the redeploy rolls.
 * - `single-user`: the one user's password changes in place. From `setSecret` until the
 *   redeploy has replaced every task, running tasks hold a password that no longer works.
 */
export type RotationStrategy = 'alternating-users' | 'single-user';

export interface RotationDemoStackProps extends StackProps {
  /** @default 'alternating-users' */
  readonly rotation?: RotationStrategy;
  /**
   * Deploy a SecretRedeployer scoped to the demo's cluster and names. Turn it off when the
   * product stack is already deployed in the account (it watches every cluster).
   * @default true
   */
  readonly withRedeployer?: boolean;
  /**
   * Days between scheduled rotations (the walkthrough rotates on demand).
   * @default 30
   */
  readonly rotationDays?: number;
}

/** Names the demo creates; the redeployer's prefixes are derived from them. */
export const DEMO = {
  secretPrefix: 'rotation-demo/',
  appSecretName: 'rotation-demo/app-user',
  parameterPrefix: '/rotation-demo/',
  hostParameterName: '/rotation-demo/db-host',
  appUsername: 'app',
  instanceIdentifier: 'rotation-demo',
  database: 'postgres',
} as const;

/** Public PostgreSQL image (multi-arch): its psql is the demo's database client. */
const POSTGRES_IMAGE = 'public.ecr.aws/docker/library/postgres:16-alpine';

export class RotationDemoStack extends Stack {
  public readonly database: rds.DatabaseInstance;
  public readonly appSecret: rds.DatabaseSecret;
  public readonly service: ecs.FargateService;
  public readonly redeployer?: SecretRedeployer;

  constructor(scope: Construct, id: string, props: RotationDemoStackProps = {}) {
    super(scope, id, props);
    const rotation = props.rotation ?? 'alternating-users';

    // Two AZs (RDS needs a subnet group spanning two), no NAT gateway: tasks get a public IP
    // to reach public ECR and the AWS APIs; the database and the rotation function stay in
    // isolated subnets and reach Secrets Manager through an interface endpoint.
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      flowLogs: {
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'FlowLogs', {
              retention: logs.RetentionDays.ONE_WEEK,
              removalPolicy: RemovalPolicy.DESTROY,
            }),
          ),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });
    const isolated = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

    const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'Secrets Manager endpoint: HTTPS from the rotation function only',
      allowAllOutbound: false,
    });
    const secretsEndpoint = vpc.addInterfaceEndpoint('SecretsManagerEndpoint', {
      service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      subnets: isolated,
      securityGroups: [endpointSecurityGroup],
      open: false,
    });

    const databaseSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc,
      description: 'PostgreSQL: 5432 from the demo service and the rotation function only',
      allowAllOutbound: false,
    });
    // Created here with a retention, instead of by RDS (kept forever) or by the LogRetention
    // custom resource (one more Lambda function with a managed policy).
    const databaseLogs = new logs.LogGroup(this, 'DatabaseLogs', {
      logGroupName: `/aws/rds/instance/${DEMO.instanceIdentifier}/postgresql`,
      retention: logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.database = new rds.DatabaseInstance(this, 'Database', {
      instanceIdentifier: DEMO.instanceIdentifier,
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO),
      vpc,
      vpcSubnets: isolated,
      securityGroups: [databaseSecurityGroup],
      credentials: rds.Credentials.fromGeneratedSecret('postgres', {
        secretName: 'rotation-demo/master',
      }),
      allocatedStorage: 20,
      storageEncrypted: true,
      multiAz: false,
      publiclyAccessible: false,
      backupRetention: Duration.days(1),
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
      iamAuthentication: true,
      parameters: { 'rds.force_ssl': '1' },
      cloudwatchLogsExports: ['postgresql'],
    });
    this.database.node.addDependency(databaseLogs);
    const masterSecret = this.database.secret;
    if (!masterSecret) throw new Error('the database has no generated master secret');

    // The application's credentials: what the service reads, and what rotates.
    this.appSecret = new rds.DatabaseSecret(this, 'AppUserSecret', {
      username: DEMO.appUsername,
      secretName: DEMO.appSecretName,
      masterSecret,
      dbname: DEMO.database,
    });
    const attachedAppSecret = this.appSecret.attach(this.database);

    const rotationSecurityGroup = new ec2.SecurityGroup(this, 'RotationSecurityGroup', {
      vpc,
      description: 'Rotation function: PostgreSQL and the Secrets Manager endpoint only',
      allowAllOutbound: false,
    });
    // SecretRotation itself opens the database port from this group to the instance.
    rotationSecurityGroup.connections.allowTo(
      endpointSecurityGroup,
      ec2.Port.tcp(443),
      'rotation function to Secrets Manager',
    );
    new secretsmanager.SecretRotation(this, 'AppUserRotation', {
      application:
        rotation === 'alternating-users'
          ? secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_MULTI_USER
          : secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
      secret: attachedAppSecret,
      ...(rotation === 'alternating-users' && { masterSecret }),
      target: this.database,
      vpc,
      vpcSubnets: isolated,
      endpoint: secretsEndpoint,
      securityGroup: rotationSecurityGroup,
      automaticallyAfter: Duration.days(props.rotationDays ?? 30),
      rotateImmediatelyOnUpdate: false,
    });

    const hostParameter = new ssm.StringParameter(this, 'DatabaseHost', {
      parameterName: DEMO.hostParameterName,
      stringValue: this.database.dbInstanceEndpointAddress,
      description: 'Rotation demo: the PostgreSQL host the service connects to',
    });

    // The service: a connect-and-report loop that logs the user it connected as.
    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const logGroup = new logs.LogGroup(this, 'ServiceLogs', {
      retention: logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const image = ecs.ContainerImage.fromRegistry(POSTGRES_IMAGE);

    // Runs once before the app starts: creates the application user the first time (the
    // alternating-users rotation clones it into app_clone). Idempotent.
    const init = taskDefinition.addContainer('create-app-user', {
      image,
      essential: false,
      entryPoint: ['sh', '-c'],
      command: [
        [
          'set -eu',
          `export PGDATABASE=${DEMO.database} PGSSLMODE=require`,
          'exists=$(PGUSER="$MASTER_USER" PGPASSWORD="$MASTER_PASSWORD" psql -tAc ' +
            '"SELECT 1 FROM pg_roles WHERE rolname = \'$APP_USER\'")',
          'if [ "$exists" = 1 ]; then echo "user $APP_USER exists"; exit 0; fi',
          'PGUSER="$MASTER_USER" PGPASSWORD="$MASTER_PASSWORD" psql -v ON_ERROR_STOP=1 -c ' +
            '"CREATE ROLE \\"$APP_USER\\" LOGIN PASSWORD \'$APP_PASSWORD\'"',
          'echo "created user $APP_USER"',
        ].join('\n'),
      ],
      secrets: {
        PGHOST: ecs.Secret.fromSsmParameter(hostParameter),
        MASTER_USER: ecs.Secret.fromSecretsManager(masterSecret, 'username'),
        MASTER_PASSWORD: ecs.Secret.fromSecretsManager(masterSecret, 'password'),
        APP_USER: ecs.Secret.fromSecretsManager(this.appSecret, 'username'),
        APP_PASSWORD: ecs.Secret.fromSecretsManager(this.appSecret, 'password'),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'create-app-user' }),
    });
    const app = taskDefinition.addContainer('app', {
      image,
      essential: true,
      entryPoint: ['sh', '-c'],
      command: [
        [
          `export PGDATABASE=${DEMO.database} PGSSLMODE=require`,
          'echo "started: will connect as $PGUSER"',
          'while true; do',
          '  if out=$(psql -tAc "SELECT current_user" 2>&1); then',
          '    echo "connected as $out"',
          '  else',
          '    echo "connection FAILED as $PGUSER: $out"',
          '  fi',
          '  sleep 10',
          'done',
        ].join('\n'),
      ],
      // The secret's JSON keys, and the SSM parameter: exactly the references the redeployer
      // must find in this task definition.
      secrets: {
        PGUSER: ecs.Secret.fromSecretsManager(this.appSecret, 'username'),
        PGPASSWORD: ecs.Secret.fromSecretsManager(this.appSecret, 'password'),
        PGHOST: ecs.Secret.fromSsmParameter(hostParameter),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'app' }),
    });
    app.addContainerDependencies({
      container: init,
      condition: ecs.ContainerDependencyCondition.SUCCESS,
    });

    const serviceSecurityGroup = new ec2.SecurityGroup(this, 'ServiceSecurityGroup', {
      vpc,
      description: 'Demo service: no inbound; out to PostgreSQL and HTTPS (ECR, AWS APIs)',
      allowAllOutbound: false,
    });
    serviceSecurityGroup.connections.allowTo(
      databaseSecurityGroup,
      ec2.Port.tcp(5432),
      'demo service to PostgreSQL',
    );
    serviceSecurityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'image pull from public ECR, secrets and logs APIs',
    );
    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: 1,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      assignPublicIp: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [serviceSecurityGroup],
      circuitBreaker: { rollback: true },
      enableExecuteCommand: false,
    });

    if (props.withRedeployer ?? true) {
      this.redeployer = new SecretRedeployer(this, 'Redeployer', {
        clusters: [cluster],
        secretNamePrefixes: [DEMO.secretPrefix],
        parameterNamePrefixes: [DEMO.parameterPrefix],
        // A short settle window keeps the walkthrough snappy; one rotation is one change anyway.
        settleWindow: Duration.seconds(10),
      });
    }

    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
    new CfnOutput(this, 'ServiceName', { value: this.service.serviceName });
    new CfnOutput(this, 'AppSecretArn', { value: this.appSecret.secretArn });
    new CfnOutput(this, 'ServiceLogGroup', { value: logGroup.logGroupName });

    this.acknowledgeDemoTradeOffs();
  }

  /** cdk-nag findings the demo accepts on purpose, each with its reason. */
  private acknowledgeDemoTradeOffs(): void {
    const ack = (scope: IConstruct, id: string, reason: string): void => {
      Validations.of(scope).acknowledge({ id, reason });
    };
    ack(this.database, 'AwsSolutions-RDS3', 'Demo: a single-AZ instance keeps the cost low.');
    ack(this.database, 'AwsSolutions-RDS10', 'Demo: meant to be torn down with cdk destroy.');
    ack(
      this.database,
      'AwsSolutions-RDS11',
      'Demo: the default port; the security group admits only the service and the rotation.',
    );
    ack(
      // The secret itself; `database.secret` is its attachment to the instance.
      this.database.node.findChild('Secret'),
      'AwsSolutions-SMG4',
      'The master secret is not rotated in the demo: the application secret is the one that ' +
        'rotates (the alternating-users rotation uses the master to manage the app users).',
    );
  }
}
