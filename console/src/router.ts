// Client routes, each naming the roles that may open it (the API checks again: this only keeps
// people off pages that would answer 403).
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { session } from './session'

declare module 'vue-router' {
  interface RouteMeta {
    title?: string
    roles?: string[]
    icon?: string
  }
}

const CENTER = ['agent', 'dispatcher', 'supervisor', 'admin']
const MANAGERS = ['dispatcher', 'supervisor', 'admin']
const BOARD = ['supervisor', 'leader', 'dispatcher', 'admin']
const STATS = ['leader', 'supervisor', 'dispatcher', 'admin']

export const pages: RouteRecordRaw[] = [
  { path: 'agent', name: 'agent', component: () => import('./views/AgentDesk.vue'),
    meta: { title: '接线台', roles: ['agent', 'supervisor', 'admin'] } },
  { path: 'intake', name: 'intake', component: () => import('./views/Intake.vue'),
    meta: { title: '受理派单', roles: MANAGERS } },
  { path: 'inbox', name: 'inbox', component: () => import('./views/Inbox.vue'),
    meta: { title: '待办工单', roles: ['handler'] } },
  { path: 'tickets', name: 'tickets', component: () => import('./views/TicketSearch.vue'),
    meta: { title: '工单查询', roles: [...CENTER, 'leader', 'handler'] } },
  // Satisfaction callbacks (回访): whoever may record the citizen's rating (the centre's staff, agents
  // calling back from their phone); sampling and withdrawing are the ticket managers' (the page offers them).
  { path: 'revisits', name: 'revisits', component: () => import('./views/Revisits.vue'),
    meta: { title: '回访', roles: CENTER } },
  { path: 'callbacks', name: 'callbacks', component: () => import('./views/Callbacks.vue'),
    meta: { title: '回拨任务', roles: ['supervisor', 'admin'] } },
  { path: 'voicemails', name: 'voicemails', component: () => import('./views/Voicemails.vue'),
    meta: { title: '语音留言', roles: ['supervisor', 'admin'] } },
  { path: 'wallboard', name: 'wallboard', component: () => import('./views/Wallboard.vue'),
    meta: { title: '监控大屏', roles: BOARD } },
  { path: 'stats', name: 'stats', component: () => import('./views/Stats.vue'),
    meta: { title: '统计分析', roles: STATS } },
  { path: 'admin/ivr', name: 'ivr', component: () => import('./views/MenuEditor.vue'),
    meta: { title: 'IVR 菜单', roles: ['admin'] } },
  { path: 'admin/floor', name: 'floor', component: () => import('./views/QueuesAgents.vue'),
    meta: { title: '队列与坐席', roles: ['admin'] } },
  { path: 'admin/users', name: 'users', component: () => import('./views/admin/Users.vue'),
    meta: { title: '用户管理', roles: ['admin'] } },
  { path: 'admin/departments', name: 'departments', component: () => import('./views/admin/Departments.vue'),
    meta: { title: '承办单位', roles: ['admin'] } },
  { path: 'admin/categories', name: 'categories', component: () => import('./views/admin/Categories.vue'),
    meta: { title: '诉求类别', roles: ['admin'] } },
  { path: 'admin/calendar', name: 'calendar', component: () => import('./views/admin/Calendar.vue'),
    meta: { title: '工作日历', roles: ['admin'] } },
]

export const HOME: Record<string, string> = {
  agent: 'agent', dispatcher: 'intake', supervisor: 'wallboard', handler: 'inbox', leader: 'stats', admin: 'ivr',
}

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('./views/Login.vue'), meta: { title: '登录' } },
  { path: '/', component: () => import('./views/Layout.vue'), children: [
    // Resolved by the guard below, once the user is known (a redirect here runs before login).
    { path: '', name: 'home', component: () => import('./views/Missing.vue') },
    ...pages,
    { path: ':rest(.*)*', name: 'missing', component: () => import('./views/Missing.vue'), meta: { title: '页面不存在' } },
  ] },
]

export const router = createRouter({ history: createWebHistory('/console/'), routes })

router.beforeEach((to) => {
  if (to.name !== 'login' && !session.token) return { name: 'login', query: { next: to.fullPath } }
  if (to.name === 'home') return { name: HOME[session.me?.role ?? ''] ?? 'tickets' }
  const roles = to.meta.roles
  if (roles && session.me && !roles.includes(session.me.role)) return { name: 'home' }
  return true
})

router.afterEach((to) => {
  document.title = `${to.meta.title ?? ''} · 96881 热线控制台`
})
