/* The critical path of a run's step graph: the heaviest chain by duration, through a DAG. */
#include "graph.h"

#include <stdbool.h>
#include <stdlib.h>

/* Kahn's order over edges grouped by source (start[v]..start[v+1] in `to`); false on a cycle. */
static bool topological(int n, const int *start, const int *to, int *order)
{
    int *indeg = calloc((size_t)n + 1, sizeof *indeg);
    if (!indeg) abort();
    for (int v = 0; v < n; v++)
        for (int k = start[v]; k < start[v + 1]; k++)
            indeg[to[k]]++;
    int head = 0, tail = 0;
    for (int v = 0; v < n; v++)
        if (!indeg[v]) order[tail++] = v;
    while (head < tail) {
        int v = order[head++];
        for (int k = start[v]; k < start[v + 1]; k++)
            if (--indeg[to[k]] == 0) order[tail++] = to[k];
    }
    free(indeg);
    return tail == n;
}

int critical_path(const long long *duration, int n, const struct graph_edge *edges, int m,
                  int *path)
{
    if (n <= 0) return 0;
    for (int i = 0; i < m; i++)
        if (edges[i].from < 0 || edges[i].from >= n || edges[i].to < 0 || edges[i].to >= n)
            return -1;
    int *start = calloc((size_t)n + 1, sizeof *start), *to = malloc(((size_t)m + 1) * sizeof *to);
    int *order = malloc((size_t)n * sizeof *order), *prev = malloc((size_t)n * sizeof *prev);
    long long *best = malloc((size_t)n * sizeof *best);
    if (!start || !to || !order || !prev || !best) abort();
    for (int i = 0; i < m; i++)
        start[edges[i].from + 1]++;
    for (int v = 0; v < n; v++)
        start[v + 1] += start[v];
    int *fill = calloc((size_t)n, sizeof *fill);
    if (!fill) abort();
    for (int i = 0; i < m; i++)
        to[start[edges[i].from] + fill[edges[i].from]++] = edges[i].to;
    free(fill);
    int len = -1;
    if (topological(n, start, to, order)) {
        for (int v = 0; v < n; v++) {
            best[v] = duration[v] > 0 ? duration[v] : 0;
            prev[v] = -1;
        }
        /* In topological order every predecessor is final before its successors are seen. */
        for (int i = 0; i < n; i++) {
            int u = order[i];
            for (int k = start[u]; k < start[u + 1]; k++) {
                int v = to[k];
                long long w = best[u] + (duration[v] > 0 ? duration[v] : 0);
                if (w > best[v] || (w == best[v] && prev[v] >= 0 && u < prev[v])) {
                    best[v] = w;
                    prev[v] = u;
                }
            }
        }
        int end = 0;
        for (int v = 1; v < n; v++)
            if (best[v] > best[end]) end = v;
        len = 0;
        for (int v = end; v >= 0; v = prev[v])
            order[len++] = v; /* reuse order as scratch, last node first */
        for (int i = 0; i < len; i++)
            path[i] = order[len - 1 - i];
    }
    free(start);
    free(to);
    free(order);
    free(prev);
    free(best);
    return len;
}
