import { createRouter, createWebHistory } from 'vue-router';
import { useSessionStore } from './stores/session';
import HomeView from './views/HomeView.vue';
import { afterSignIn } from './sign-in-redirect';
import { workspaceRoutes } from './workspace/routes';

declare module 'vue-router' {
  interface RouteMeta {
    /** Signed-out visitors are sent to /signin and come back after signing in. */
    requiresAuth?: boolean;
    /** Non-administrators see «Нет доступа» at the same address. */
    requiresAdmin?: boolean;
  }
}

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'home', component: HomeView },
    { path: '/about', name: 'about', component: () => import('./views/AboutView.vue') },
    { path: '/signin', name: 'signin', component: () => import('./views/SignInView.vue') },
    {
      path: '/folders/:id',
      component: () => import('./views/FolderView.vue'),
      meta: { requiresAuth: true },
      props: true,
      children: [
        { path: '', name: 'folder', component: () => import('./views/FolderCards.vue') },
        { path: 'access', name: 'folder-access', component: () => import('./components/AccessEditor.vue'), props: (route) => ({ folderId: route.params.id }) },
        { path: 'import', name: 'folder-import', component: () => import('./transfer/ImportView.vue'), props: (route) => ({ folderId: route.params.id }) },
      ],
    },
    {
      path: '/admin',
      component: () => import('./views/admin/AdminLayout.vue'),
      meta: { requiresAuth: true, requiresAdmin: true },
      children: [
        { path: '', redirect: { name: 'admin-people' } },
        { path: 'people', name: 'admin-people', component: () => import('./views/admin/PeopleAdmin.vue') },
        { path: 'groups', name: 'admin-groups', component: () => import('./views/admin/GroupsAdmin.vue') },
        { path: 'libraries', name: 'admin-libraries', component: () => import('./views/admin/LibrariesAdmin.vue') },
        { path: 'audit', name: 'admin-audit', component: () => import('./views/admin/AuditAdmin.vue') },
        { path: 'backups', name: 'admin-backups', component: () => import('./views/admin/BackupsAdmin.vue') },
        { path: 'duplicates', name: 'admin-duplicates', component: () => import('./duplicates/DuplicateRulesAdmin.vue') },
        {
          path: 'card-types',
          children: [
            { path: '', name: 'admin-card-types', component: () => import('./views/admin/card-types/CardTypesAdmin.vue') },
            { path: 'new', name: 'admin-card-type-new', component: () => import('./views/admin/card-types/CardTypeEditor.vue') },
            { path: ':key', name: 'admin-card-type', component: () => import('./views/admin/card-types/CardTypeEditor.vue'), props: (route) => ({ typeKey: route.params.key }) },
          ],
        },
      ],
    },
    ...workspaceRoutes,
    { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue') },
    // Reached by name only (the guard below), so the address the visitor typed stays in the bar.
    { path: '/:pathMatch(.*)*', name: 'no-access', component: () => import('./views/NoAccessView.vue') },
  ],
});

router.beforeEach(async (to) => {
  const session = useSessionStore();
  await session.ensureLoaded();
  if (to.meta.requiresAuth && !session.viewer) return { name: 'signin', query: { redirect: to.fullPath } };
  if (to.name === 'signin' && session.viewer) return afterSignIn(to.query.redirect);
  if (to.meta.requiresAdmin && !session.isAdmin) {
    return { name: 'no-access', params: { pathMatch: to.path.slice(1).split('/') }, query: to.query, hash: to.hash, replace: true };
  }
  return true;
});
