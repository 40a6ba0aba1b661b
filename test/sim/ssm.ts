/**
 * AWS Systems Manager Parameter Store metadata (SSM API reference: DescribeParameters with
 * `ParameterFilters` `{Key: 'Name', Option: 'Equals' | 'BeginsWith', Values}`, at most 50 values,
 * MaxResults 1–50; SSM user guide, "Monitoring Parameter Store events with Amazon EventBridge"):
 * a parameter is found under its name exactly as stored (with or without a leading `/`).
 * Parameter VALUES are never modelled: GetParameter(s) and every other operation answer
 * AccessDeniedException and are logged.
 *
 * `putParameter` and `deleteParameter` emit `aws.ssm` "Parameter Store Change" events
 * (operation Create / Update / Delete; `resources` the parameter ARN, whose resource part has
 * no leading slash: `parameter/app/db` for `/app/db`).
 */
import type { SimContext, SimService } from './context.js';
import { AwsError, notImplemented } from './errors.js';
import type { ParameterStoreChangeDetail } from './events.js';
import type { Answer } from './transport.js';
import { epochSeconds, isJson, type Json, optionalNumber, optionalString, page } from './util.js';

/** A parameter to create. */
export interface ParameterSeed {
  /** As stored: `/app/db` or `app-db`. */
  readonly name: string;
  /** @default 'String' */
  readonly type?: 'String' | 'StringList' | 'SecureString';
  /** @default 1 */
  readonly version?: number;
  /** @default one day before now */
  readonly lastModifiedDate?: Date;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

interface Parameter {
  readonly name: string;
  readonly arn: string;
  tags?: Readonly<Record<string, string>>;
  type: string;
  version: number;
  lastModifiedAt: number;
  description?: string;
}

/** The simulated Parameter Store of one account and Region. */
export class SsmSim implements SimService {
  private readonly parameters = new Map<string, Parameter>();
  /** Leave `ARN` out of DescribeParameters results, as some emulators do. */
  omitArn = false;

  constructor(private readonly ctx: SimContext) {}

  private arn(name: string): string {
    return `arn:${this.ctx.partition}:ssm:${this.ctx.region}:${this.ctx.account}:parameter/${name.replace(/^\//, '')}`;
  }

  /** Creates a parameter (no event); returns its ARN. */
  addParameter(seed: ParameterSeed): string {
    const parameter: Parameter = {
      name: seed.name,
      arn: this.arn(seed.name),
      type: seed.type ?? 'String',
      version: seed.version ?? 1,
      lastModifiedAt: seed.lastModifiedDate?.getTime() ?? this.ctx.clock.nowMs() - 86_400_000,
      ...(seed.description !== undefined && { description: seed.description }),
      ...(seed.tags !== undefined && { tags: seed.tags }),
    };
    this.parameters.set(seed.name, parameter);
    return parameter.arn;
  }

  /** PutParameter (with Overwrite): Create (version 1) or Update (version + 1), with its event. */
  putParameter(
    name: string,
    options: {
      readonly type?: 'String' | 'StringList' | 'SecureString';
      readonly description?: string;
    } = {},
  ): number {
    const now = this.ctx.clock.nowMs();
    const existing = this.parameters.get(name);
    const parameter: Parameter = existing ?? {
      name,
      arn: this.arn(name),
      type: 'String',
      version: 0,
      lastModifiedAt: now,
    };
    parameter.version += 1;
    parameter.lastModifiedAt = now;
    if (options.type !== undefined) parameter.type = options.type;
    if (options.description !== undefined) parameter.description = options.description;
    this.parameters.set(name, parameter);
    this.changed(existing ? 'Update' : 'Create', parameter);
    return parameter.version;
  }

  /** DeleteParameter, with its event. */
  deleteParameter(name: string): void {
    const parameter = this.parameters.get(name);
    if (!parameter) throw new Error(`sim: no parameter ${name}`);
    this.parameters.delete(name);
    this.changed('Delete', parameter);
  }

  /** A parameter's current version (undefined if it does not exist). */
  versionOf(name: string): number | undefined {
    return this.parameters.get(name)?.version;
  }

  private changed(operation: ParameterStoreChangeDetail['operation'], parameter: Parameter): void {
    const detail: ParameterStoreChangeDetail = {
      operation,
      name: parameter.name,
      type: parameter.type,
      description: parameter.description ?? '',
    };
    this.ctx.events.emit('aws.ssm', 'Parameter Store Change', [parameter.arn], detail);
  }

  /** Answers one SSM request. */
  handle(operation: string, input: Json): Answer {
    if (operation === 'DescribeParameters') return this.describeParameters(input);
    if (operation === 'ListTagsForResource') return this.listTagsForResource(input);
    throw notImplemented('ssm', operation, this.ctx.account);
  }

  /** ListTagsForResource of a parameter (ResourceType `Parameter`, ResourceId its name). */
  private listTagsForResource(input: Json): Json {
    const type = optionalString(input, 'ResourceType');
    const id = optionalString(input, 'ResourceId');
    if (type !== 'Parameter') {
      throw new AwsError(
        'ValidationException',
        `[sim] ResourceType ${String(type)} is not modelled`,
      );
    }
    const parameter = id === undefined ? undefined : this.parameters.get(id);
    if (!parameter) throw new AwsError('InvalidResourceId', 'The resource ID is not valid.');
    return {
      TagList: Object.entries(parameter.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    };
  }

  private describeParameters(input: Json): Json {
    const maxResults = optionalNumber(input, 'MaxResults') ?? 10;
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 50) {
      throw new AwsError(
        'ValidationException',
        `1 validation error detected: Value '${String(maxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 50`,
      );
    }
    if (input.Filters !== undefined) {
      throw new AwsError(
        'ValidationException',
        '[sim] the deprecated Filters member is not modelled; use ParameterFilters',
      );
    }
    const filters = Array.isArray(input.ParameterFilters) ? input.ParameterFilters : [];
    let candidates: Parameter[] = [...this.parameters.values()];
    filters.forEach((filter: unknown, i) => {
      if (!isJson(filter))
        throw new AwsError('SerializationException', 'ParameterFilters must be objects');
      const key = optionalString(filter, 'Key');
      const option = optionalString(filter, 'Option') ?? 'Equals';
      const values = Array.isArray(filter.Values)
        ? filter.Values.filter((v) => typeof v === 'string')
        : [];
      if (values.length > 50) {
        throw new AwsError(
          'ValidationException',
          `1 validation error detected: Value at 'parameterFilters.${String(i + 1)}.member.values' failed to satisfy constraint: Member must have length less than or equal to 50`,
        );
      }
      if (key !== 'Name')
        throw new AwsError(
          'ValidationException',
          `[sim] ParameterFilters key ${String(key)} is not modelled`,
        );
      if (option === 'Equals') {
        candidates = values.flatMap((v) => {
          const found = this.parameters.get(v);
          return found && candidates.includes(found) ? [found] : [];
        });
      } else if (option === 'BeginsWith') {
        candidates = candidates.filter((p) => values.some((v) => p.name.startsWith(v)));
      } else {
        throw new AwsError(
          'InvalidFilterOption',
          `The filter option ${option} is not valid for key Name.`,
        );
      }
    });
    const unique = [...new Set(candidates)];
    const { items, nextToken } = page(unique, {
      token: optionalString(input, 'NextToken'),
      size: maxResults,
      scope: `parameters|${JSON.stringify(filters)}`,
      errorCode: 'InvalidNextToken',
    });
    return {
      Parameters: items.map((p) => ({
        Name: p.name,
        ...(!this.omitArn && { ARN: p.arn }),
        Type: p.type,
        ...(p.description !== undefined && { Description: p.description }),
        LastModifiedDate: epochSeconds(p.lastModifiedAt),
        LastModifiedUser: `arn:${this.ctx.partition}:iam::${this.ctx.account}:user/sim`,
        Version: p.version,
        Tier: 'Standard',
        Policies: [],
        DataType: 'text',
      })),
      ...(nextToken !== undefined && { NextToken: nextToken }),
    };
  }
}
