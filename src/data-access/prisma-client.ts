import { activeDatamodel, activeRowScope } from './data-scope.js';
import { relationsOf, type ScopeSource, scopeArgs } from './scope-args.js';

interface ExtendableClient {
  $extends(extension: object): object;
}

interface OperationCall {
  model?: string;
  operation: string;
  args: Record<string, unknown> | undefined;
  query(args: unknown): Promise<unknown>;
}

/**
 * The Prisma client every request reads and writes through: a client extension over every model
 * operation that applies the active data scope (see `runInScope`) to the operation's arguments
 * before Prisma sees them. Resolvers get only this client, so a resolver that forgets the scope
 * still gets scoped rows, and a call made outside a request's scope fails. Raw SQL (`$queryRaw`,
 * used for ormai's own tables) is not a model operation and passes through.
 */
export function scopedPrismaClient<Client extends object>(client: Client): Client {
  // Prisma says which preview features the client was generated with only internally; without
  // the property, a client that joins is read as one that does not
  const features = (client as { _previewFeatures?: readonly string[] })._previewFeatures;
  const source: ScopeSource = {
    joins: Array.isArray(features) && features.includes('relationJoins'),
    rowScope: activeRowScope,
    relation: (model, field) => {
      const datamodel = activeDatamodel();
      return datamodel ? relationsOf(datamodel)(model, field) : null;
    },
  };
  return (client as unknown as ExtendableClient).$extends({
    name: 'ormai-data-scope',
    query: {
      $allModels: {
        $allOperations({ model, operation, args, query }: OperationCall) {
          return query(scopeArgs(source, model!, operation, args ?? {}));
        },
      },
    },
  }) as Client;
}
