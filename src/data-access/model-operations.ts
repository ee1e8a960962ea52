import { OrmaiError } from '../errors.js';

/** One model operation of the wrapped client, called with the arguments it is to run with. */
export type Operation = (args?: unknown) => PromiseLike<unknown>;

/** What runs in place of a model operation: it calls `call` (or refuses) and returns its result. */
export type AroundOperation = (
  model: string,
  operation: string,
  args: Record<string, unknown> | undefined,
  call: Operation,
) => PromiseLike<unknown>;

type Delegate = Record<string, unknown>;

interface PrismaInternals {
  /** The models of the generated client, by name: Prisma says so only internally. */
  _runtimeDataModel?: { models?: Record<string, unknown> };
  $transaction(work: unknown, options?: unknown): Promise<unknown>;
  $extends(extension: object): object;
}

/**
 * `client` with every model operation (`client.order.findMany(args)`, any function of a model
 * delegate) run through `around`, as a Prisma client extension over `$allOperations` would, without
 * being one: once a client has any extension, Prisma walks every result object looking for result
 * extensions to apply (lower-casing each object's model name with a regular expression), which was a
 * tenth of a 50-row read's CPU. An interactive transaction's client and a client extended from this
 * one are wrapped the same way; the batch form of `$transaction` is refused, since the operations it
 * takes must be Prisma's own lazy promises. Everything else (`$queryRaw`, `$disconnect`) is the
 * client's own.
 */
export function aroundModelOperations<Client extends object>(
  client: Client,
  around: AroundOperation,
): Client {
  const names = Object.keys((client as PrismaInternals)._runtimeDataModel?.models ?? {});
  if (names.length === 0) {
    throw new OrmaiError('INTERNAL_ERROR', 'the Prisma client lists no models to wrap');
  }
  const models = new Map(names.map((name) => [name.charAt(0).toLowerCase() + name.slice(1), name]));
  return wrapClient(client, models, around) as Client;
}

function wrapClient(client: object, models: Map<string, string>, around: AroundOperation): object {
  const base = client as PrismaInternals;
  const delegates = new Map<string, Delegate>();
  const methods = new Map<PropertyKey, unknown>();
  const transaction = (work: unknown, options?: unknown) => {
    if (typeof work !== 'function') {
      throw new OrmaiError(
        'INTERNAL_ERROR',
        '$transaction([...]) cannot run through a wrapped client: pass a function (tx) => …',
      );
    }
    return base.$transaction(
      (tx: object) => (work as (tx: object) => unknown)(wrapClient(tx, models, around)),
      options,
    );
  };
  const extend = (extension: object) => wrapClient(base.$extends(extension), models, around);
  return new Proxy(client, {
    get(target, key) {
      if (key === '$transaction') return transaction;
      if (key === '$extends') return extend;
      const model = typeof key === 'string' ? models.get(key) : undefined;
      if (model) {
        let delegate = delegates.get(model);
        if (!delegate) {
          delegate = wrapDelegate(
            (target as Record<string, Delegate>)[key as string]!,
            model,
            around,
          );
          delegates.set(model, delegate);
        }
        return delegate;
      }
      // methods run on the client itself: Prisma's keep state in private fields a proxy lacks
      const value = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      let bound = methods.get(key);
      if (!bound) {
        bound = value.bind(target);
        methods.set(key, bound);
      }
      return bound;
    },
  });
}

/** Every function of the delegate is an operation and goes through `around`. */
function wrapDelegate(delegate: Delegate, model: string, around: AroundOperation): Delegate {
  const operations = new Map<PropertyKey, Operation>();
  return new Proxy(delegate, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      let operation = operations.get(key);
      if (!operation) {
        const call: Operation = (args) => (value as Operation).call(target, args);
        // refused as a rejected promise, as Prisma's own operations fail
        operation = (args) => {
          try {
            return around(model, key, args as Record<string, unknown> | undefined, call);
          } catch (error) {
            return Promise.reject(error);
          }
        };
        operations.set(key, operation);
      }
      return operation;
    },
  });
}
