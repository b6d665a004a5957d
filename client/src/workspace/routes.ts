import type { RouteRecordRaw } from 'vue-router';

/** The workspace's pages; the shell's router includes them. */
export const workspaceRoutes: RouteRecordRaw[] = [
  {
    path: '/folders/:folderId/cards/:cardId',
    name: 'workspace-card',
    component: () => import('./views/CardPage.vue'),
    meta: { requiresAuth: true },
    props: true,
  },
  { path: '/trash', name: 'workspace-trash', component: () => import('./views/TrashView.vue'), meta: { requiresAuth: true } },
  { path: '/search', name: 'workspace-search', component: () => import('./views/SearchView.vue'), meta: { requiresAuth: true } },
  { path: '/duplicates', name: 'workspace-duplicates', component: () => import('../duplicates/DuplicatesView.vue'), meta: { requiresAuth: true } },
];
