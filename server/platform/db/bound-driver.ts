import {
  JsonProperty,
  Utils,
  type AnyEntity,
  type Configuration,
  type EntityData,
  type LoggingOptions,
  type QueryResult,
  type Transaction,
} from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/postgresql';
import { AbstractSqlDriver, PostgreSqlConnection, PostgreSqlPlatform } from '@mikro-orm/postgresql';

/**
 * A parameter as MikroORM's formatting would have meant it: `undefined` is NULL, and a plain
 * object or a JSON property's value (an array MikroORM marks with `JsonProperty`) is JSON text.
 */
function bindValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (Utils.isPlainObject(value) || (typeof value === 'object' && value !== null && JsonProperty in value)) return JSON.stringify(value);
  return value;
}

/**
 * `em.execute(sql, params)` with the parameters sent to PostgreSQL as bind values (`$1`, `$2`…)
 * instead of written into the SQL text.
 *
 * MikroORM formats a raw statement's parameters into its text, escaping each string with pg's
 * `escapeLiteral`, which appends one character at a time: a 10 KB JSON value (a grade's results,
 * a batch of a launch's close) becomes a rope of 10,000 strings that the socket write then
 * flattens. On the grading path that was about half of everything the server allocated and a
 * quarter of its CPU in garbage collection (`npm run bench`, scenario 6; docs/benchmarks.md).
 * Bound, a value goes to the wire as it is.
 *
 * What differs from MikroORM's formatting, for code writing raw SQL (docs/data-access.md): an
 * array is one value (a PostgreSQL array, `= ANY(?::uuid[])`), never a list to splice into
 * `IN (…)`; `undefined` is NULL, as before; a parameter PostgreSQL cannot type from its context
 * (`? IS NULL`) needs a cast (`?::text IS NULL`). Statements without parameters, the ORM's own
 * query builder's statements and those whose values include raw SQL fragments go through MikroORM
 * unchanged.
 */
export class BoundPostgreSqlConnection extends PostgreSqlConnection {
  override async execute<T extends QueryResult | EntityData<AnyEntity> | Array<EntityData<AnyEntity>> = Array<EntityData<AnyEntity>>>(
    query: string | Knex.QueryBuilder | Knex.Raw,
    params: unknown[] = [],
    method: 'all' | 'get' | 'run' = 'all',
    ctx?: Transaction,
    loggerContext?: LoggingOptions,
  ): Promise<T> {
    // A raw SQL fragment among the values (the ORM's batch inserts write `default` so) is SQL, not a value.
    if (typeof query !== 'string' || params.length === 0 || params.some((value) => Utils.isRawSql(value) || this.platform.isRaw(value))) {
      return super.execute<T>(query, params, method, ctx, loggerContext);
    }
    await this.ensureConnection();
    const sql = this.config.get('onQuery')(query, params);
    const values = params.map(bindValue) as readonly Knex.RawBinding[];
    return this.executeQuery<T>(
      sql,
      async () => {
        const statement = this.getKnex().raw(sql, values);
        if (ctx) statement.transacting(ctx as Knex.Transaction);
        return this.transformRawResult<T>(await statement, method);
      },
      { query: sql, params, ...loggerContext },
    );
  }
}

/** MikroORM's PostgreSqlDriver (which adds nothing but its constructor) over `BoundPostgreSqlConnection`. */
export class BoundPostgreSqlDriver extends AbstractSqlDriver<BoundPostgreSqlConnection, PostgreSqlPlatform> {
  constructor(config: Configuration) {
    super(config, new PostgreSqlPlatform(), BoundPostgreSqlConnection, ['knex', 'pg']);
  }
}
