declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}

/** The client parts of plugins named in PLUGINS outside `plugins/` (client/outside-plugins.ts). */
declare module 'virtual:outside-plugins' {
  import type { FieldKind } from '../../card-types';
  import type { PluginClient } from '../../plugins/api';
  const plugins: readonly { name: string; kinds: readonly FieldKind[]; client?: PluginClient }[];
  export default plugins;
}
