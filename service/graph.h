/* The critical path of a run's step graph: the chain of steps, along child and depends_on edges,
 * whose durations add up to the most. Pure logic (for GET .../runs/{id}/summary). */
#ifndef CONVSTORE_GRAPH_H
#define CONVSTORE_GRAPH_H

/* An edge from -> to: to starts after from (a child after its parent, a step after what it
 * depends on). Nodes are indices 0..n-1. */
struct graph_edge {
    int from, to;
};

/*
 * Writes to path (room for n) the nodes of the heaviest chain, from its first node to its last,
 * by duration (negative durations count as 0); ties go to the chain ending at the lowest index,
 * then to the lowest-index predecessor. Returns its length, 0 for no nodes, or -1 when the edges
 * hold a cycle or name a node out of range.
 */
int critical_path(const long long *duration, int n, const struct graph_edge *edges, int m,
                  int *path);

#endif
