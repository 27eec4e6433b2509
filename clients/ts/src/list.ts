// Auto-pagination: a list call is an AsyncIterable over every item, and .page() fetches one page.

/**
 * The result of a `list(...)` call. Nothing is fetched until it is iterated or `.page()` is called.
 * - `for await (const x of list)` walks every page (following the page's cursor while `has_more`);
 * - `await list.page(opts?)` fetches one page; `opts` (e.g. `{after: page.last_id}`) is merged
 *   into the list's own query.
 */
export class ListResult<Item, PageT extends { data: Item[]; has_more: boolean }, Q> implements AsyncIterable<Item> {
  /** @internal */
  constructor(
    private readonly fetchPage: (query: Q) => Promise<PageT>,
    private readonly query: Q,
    private readonly nextQuery: (page: PageT, query: Q) => Q | null,
  ) {}

  /** One page: the list's query with `opts` merged over it. */
  page(opts?: Partial<Q>): Promise<PageT> {
    return this.fetchPage({ ...this.query, ...opts } as Q);
  }

  /** Walks every page: each item once, in the list's order. */
  async *[Symbol.asyncIterator](): AsyncIterator<Item> {
    let q: Q | null = this.query;
    while (q) {
      const page: PageT = await this.fetchPage(q);
      yield* page.data;
      q = page.has_more && page.data.length > 0 ? this.nextQuery(page, q) : null;
    }
  }

  /** Every item in an array (convenience for small lists). */
  async toArray(): Promise<Item[]> {
    const out: Item[] = [];
    for await (const x of this) out.push(x);
    return out;
  }
}
