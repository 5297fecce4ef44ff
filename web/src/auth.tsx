import { createContext, useContext } from 'react';
import type { Onboarding } from './api/types';

export interface AuthState {
  logout: () => void;
  onboarding: Onboarding | null;
  refreshOnboarding: () => Promise<void>;
}

export const AuthContext = createContext<AuthState>({ logout: () => {}, onboarding: null, refreshOnboarding: async () => {} });
export const useAuth = () => useContext(AuthContext);

/** Bumped whenever the server's dashboard stream reports a change (job finished, backup added…). */
export const LiveContext = createContext(0);
export const useLiveVersion = () => useContext(LiveContext);
