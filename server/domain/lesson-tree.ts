/** The fields of a lesson that decide its place in the outline. */
export interface TreeNode {
  id: string;
  parentLessonId: string | null;
  orderIndex: number;
}

export type Tree<T> = T & { children: Array<Tree<T>> };

/**
 * Builds the outline: roots and children ordered by `orderIndex` (then id, for a stable
 * order). A lesson whose parent is missing is shown at the top level rather than lost.
 */
export function buildTree<T extends TreeNode>(lessons: T[]): Array<Tree<T>> {
  const nodes = new Map<string, Tree<T>>();
  for (const lesson of lessons) nodes.set(lesson.id, { ...lesson, children: [] });
  const roots: Array<Tree<T>> = [];
  for (const node of nodes.values()) {
    const parent = node.parentLessonId ? nodes.get(node.parentLessonId) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  const order = (a: TreeNode, b: TreeNode) => a.orderIndex - b.orderIndex || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const sort = (list: Array<Tree<T>>) => {
    list.sort(order);
    for (const node of list) sort(node.children);
  };
  sort(roots);
  return roots;
}

/** Ids of lessons that sit on a cycle of parent links (empty when the tree is sound). */
export function findCycle(lessons: Array<Pick<TreeNode, 'id' | 'parentLessonId'>>): string[] {
  const parentOf = new Map(lessons.map((lesson) => [lesson.id, lesson.parentLessonId]));
  for (const start of parentOf.keys()) {
    const seen = new Set<string>([start]);
    let current = parentOf.get(start) ?? null;
    while (current) {
      if (current === start) return [...seen];
      if (seen.has(current)) break; // a cycle further up; it is found from one of its members
      seen.add(current);
      current = parentOf.get(current) ?? null;
    }
  }
  return [];
}
