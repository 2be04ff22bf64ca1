/** The all-in-one control plane assembly. */
export * from './controlplane.js';
