export * from './reader.js';
export * from './kernel-features.js';
