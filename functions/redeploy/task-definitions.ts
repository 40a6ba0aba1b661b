/**
 * Reads task definitions, once each. Revisions are immutable, so what a revision references is
 * cached for the life of the execution environment (warm invocations reuse it).
 */
import { DescribeTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { type Scope, scopeOfArn } from './arn.js';
import { type Limiter, createLimiter } from './limit.js';
import { type Reference, extractReferences } from './references.js';

export type EcsLike = Pick<ECSClient, 'send'>;

export interface TaskDefinitionReaderOptions {
  /** Concurrent DescribeTaskDefinition calls. @default 10 */
  readonly concurrency?: number;
  /** Cached revisions kept, least recently used dropped first. @default 5000 */
  readonly maxEntries?: number;
}

export class TaskDefinitionReader {
  private readonly cache = new Map<string, Promise<readonly Reference[]>>();
  private readonly limiter: Limiter;
  private readonly maxEntries: number;
  /** DescribeTaskDefinition calls made (for reports and benchmarks). */
  calls = 0;

  constructor(options: TaskDefinitionReaderOptions = {}) {
    this.limiter = createLimiter(options.concurrency ?? 10);
    this.maxEntries = options.maxEntries ?? 5000;
  }

  /**
   * The references of a task definition revision. `fallbackScope` resolves parameter names when
   * the ARN does not carry a scope. Concurrent requests for one revision share one call; a failed
   * call is not cached.
   */
  references(ecs: EcsLike, arn: string, fallbackScope: Scope): Promise<readonly Reference[]> {
    const cached = this.cache.get(arn);
    if (cached) {
      this.cache.delete(arn); // refresh its place in the LRU order
      this.cache.set(arn, cached);
      return cached;
    }
    const pending = this.limiter.run(async () => {
      this.calls += 1;
      const { taskDefinition } = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: arn }),
      );
      if (!taskDefinition) throw new Error(`DescribeTaskDefinition returned nothing for ${arn}`);
      const scope = scopeOfArn(taskDefinition.taskDefinitionArn ?? arn) ?? fallbackScope;
      return extractReferences(taskDefinition, scope);
    });
    this.cache.set(arn, pending);
    pending.catch(() => {
      if (this.cache.get(arn) === pending) this.cache.delete(arn);
    });
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    return pending;
  }

  get size(): number {
    return this.cache.size;
  }

  clear(): void {
    this.cache.clear();
    this.calls = 0;
  }
}
