/**
 * Waves in the construct and the stack: the change handler's environment, the checks of the
 * props, the permissions the engine gets for the watched alarms, and the context keys.
 */
import { type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/redeploy/config.js';
import { CONTEXT } from '../../infra/redeployer-stack.js';
import { SecretRedeployer, type SecretRedeployerProps } from '../../infra/secret-redeployer.js';
import { waveSettings } from '../../infra/waves.js';
import { newApp, stackTemplate } from './synth.js';

const HOME = { account: '123456789012', region: 'eu-west-1' };

function build(props: (stack: Stack) => SecretRedeployerProps = () => ({})) {
  const stack = new Stack(newApp(), 'S', { env: HOME });
  const redeployer = new SecretRedeployer(stack, 'R', props(stack));
  return { stack, redeployer, template: Template.fromStack(stack) };
}

/** The change handler's environment variables, resolved. */
function handlerEnvironment(built: ReturnType<typeof build>): Record<string, unknown> {
  const id = built.stack.getLogicalId(built.redeployer.function.node.defaultChild as CfnElement);
  const template = built.template.toJSON() as {
    Resources: Record<
      string,
      { Properties: { Environment: { Variables: Record<string, unknown> } } }
    >;
  };
  return template.Resources[id]?.Properties.Environment.Variables ?? {};
}

/** Every statement of every IAM policy in the template. */
function statements(template: Template): Record<string, unknown>[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } })
        .Properties.PolicyDocument.Statement,
  );
}

describe('waves in the construct', () => {
  it('by default: 1, 10%, 50%, no bake, no alarms, for tagged changes; the function reads it back', () => {
    const env = handlerEnvironment(build());
    expect(env).toMatchObject({
      WAVES: '1,10%,50%',
      WAVE_BAKE_SECONDS: '0',
      WAVE_ALARMS: '',
      WAVES_FOR: 'tagged',
    });
    const config = loadConfig({ WAVES: String(env.WAVES), WAVES_FOR: String(env.WAVES_FOR) });
    expect(config.waves).toEqual([{ count: 1 }, { percent: 10 }, { percent: 50 }]);
    expect(config.wavesFor).toBe('tagged');
  });

  it('takes sizes, a bake, alarms and appliesTo; the engine may read exactly those alarms', () => {
    const built = build((stack) => ({
      waves: {
        sizes: [2, '25%'],
        bake: Duration.minutes(15),
        alarms: [
          cloudwatch.Alarm.fromAlarmArn(
            stack,
            'A5xx',
            `arn:aws:cloudwatch:${HOME.region}:${HOME.account}:alarm:orders-5xx`,
          ),
        ],
        appliesTo: 'all',
      },
    }));
    expect(handlerEnvironment(built)).toMatchObject({
      WAVES: '2,25%',
      WAVE_BAKE_SECONDS: '900',
      WAVE_ALARMS: 'orders-5xx',
      WAVES_FOR: 'all',
    });
    expect(statements(built.template)).toContainEqual({
      Sid: 'ReadWatchedAlarms',
      Effect: 'Allow',
      Action: 'cloudwatch:DescribeAlarms',
      Resource: `arn:aws:cloudwatch:${HOME.region}:${HOME.account}:alarm:orders-5xx`,
    });
    // appliesTo all reads no parameter tags.
    expect(JSON.stringify(statements(built.template))).not.toContain('ssm:ListTagsForResource');
  });

  it('for tagged changes, reads the tags of the parameters under the prefixes only', () => {
    const built = build(() => ({ parameterNamePrefixes: ['/prod/'] }));
    expect(statements(built.template)).toContainEqual({
      Sid: 'ReadParameterTags',
      Effect: 'Allow',
      Action: 'ssm:ListTagsForResource',
      Resource: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            `:ssm:${HOME.region}:${HOME.account}:parameter/prod/*`,
          ],
        ],
      },
    });
  });

  it('off: WAVES=off, no alarm to read, no halted-rollouts alarm', () => {
    const built = build(() => ({ waves: false }));
    expect(handlerEnvironment(built).WAVES).toBe('off');
    expect(loadConfig({ WAVES: 'off' }).waves).toEqual([]);
    expect(JSON.stringify(statements(built.template))).not.toContain('cloudwatch:DescribeAlarms');
    expect(built.redeployer.haltedRolloutsAlarm).toBeUndefined();
  });

  it.each<[string, SecretRedeployerProps['waves'], RegExp]>([
    ['no sizes', { sizes: [] }, /waves.sizes must name at least one wave/],
    ['a zero count', { sizes: [0] }, /waves.sizes\[0\] must be a whole number from 1/],
    ['a fraction', { sizes: [1.5] }, /waves.sizes\[0\]/],
    ['a percentage over 100', { sizes: [1, '150%'] }, /waves.sizes\[1\] .*1%-100%/],
    ['a bake over a day', { bake: Duration.hours(25) }, /waves.bake must be from 0 to 1 day/],
    [
      'a bake in milliseconds',
      { bake: Duration.millis(1500) },
      /waves.bake must be a whole number of seconds/,
    ],
  ])('rejects %s', (_name, waves, message) => {
    expect(() => waveSettings(waves === false || waves === undefined ? {} : waves)).toThrow(
      message,
    );
    expect(() => build(() => ({ waves }))).toThrow(message);
  });

  it('rejects waves with rollouts off: nothing would hold the services', () => {
    expect(() => build(() => ({ rollouts: false, flapGuard: false, waves: {} }))).toThrow(
      /waves need rollouts/,
    );
  });
});

describe('waves from context', () => {
  const variables = (template: Template): Record<string, unknown> => {
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: {
        Environment: { Variables: Match.objectLike({ CHANGE_QUEUE_URL: Match.anyValue() }) },
      },
    });
    const [first] = Object.values(functions) as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    }[];
    return first?.Properties.Environment.Variables ?? {};
  };

  it('reads sizes, appliesTo, the bake in minutes and alarm names', () => {
    const template = stackTemplate({
      [CONTEXT.waves]: '1,5,25%',
      [CONTEXT.wavesFor]: 'all',
      [CONTEXT.waveBakeMinutes]: '10',
      [CONTEXT.waveAlarmNames]: 'orders-5xx,payments-5xx',
    });
    expect(variables(template)).toMatchObject({
      WAVES: '1,5,25%',
      WAVES_FOR: 'all',
      WAVE_BAKE_SECONDS: '600',
      WAVE_ALARMS: 'orders-5xx,payments-5xx',
    });
  });

  it.each(['off', false, 'false'])('turns waves off with %j', (off) => {
    expect(variables(stackTemplate({ [CONTEXT.waves]: off })).WAVES).toBe('off');
  });

  it('rejects what is not a size or a policy', () => {
    expect(() => stackTemplate({ [CONTEXT.waves]: '1,ten' })).toThrow(/redeployer:waves/);
    expect(() => stackTemplate({ [CONTEXT.wavesFor]: 'some' })).toThrow(/redeployer:wavesFor/);
  });
});
