// Shapes of the server's JSON (docs/API.md). Fields the dashboard does not use are left out.

export interface ApiErrorBody {
  code: string;
  message: string;
}

export interface SessionInfo {
  user: string;
  auth: 'session' | 'token';
  csrf_token?: string;
}

export interface KeyInfo {
  configured: boolean;
  source: 'key-file' | 'passphrase' | null;
  unlocked: boolean;
  fingerprint: string | null;
}

export interface Onboarding {
  admin: boolean;
  targets: number;
  key: KeyInfo;
  complete: boolean;
}

export interface BackupRef {
  id: string;
  created_at: number;
  stored_bytes: number;
  verify_result: string;
  drill_result: string;
}

export interface ScheduleRef {
  cron: string;
  timezone: string;
  enabled: boolean;
  next_run: number;
}

export interface JobRef {
  id: number;
  kind: JobKind;
  state: JobState;
}

export type ProjectState = 'running' | 'partial' | 'stopped' | 'absent';

/** How storing the project's backups on one target went (the promote step records it). */
export interface TargetHealth {
  target: string;
  last_success_at: number; // 0: never
  last_failure_at: number; // 0: never
  failing_since: number; // 0: the last attempt succeeded
  last_error: string; // set while failing
}

export interface ProjectSummary {
  name: string;
  state: ProjectState;
  services: number;
  engines: string[];
  volumes: number;
  binds: number;
  warnings: string[];
  last_backup: BackupRef | null;
  schedule: ScheduleRef | null;
  running_job: JobRef | null;
  targets?: TargetHealth[];
}

export interface ContainerModel {
  id: string;
  name: string;
  state: string;
  image: string;
  health?: string;
}

export interface ServiceModel {
  name: string;
  image: string;
  state: string;
  engine: string;
  engine_detected_by: string;
  engine_evidence: string;
  excluded: boolean;
  hooks: Record<string, string>;
  containers: ContainerModel[];
  mounts: { type: string; source: string; destination: string; read_only: boolean }[];
}

export interface VolumeModel {
  key: string;
  name: string;
  external: boolean;
  anonymous: boolean;
  driver: string;
  excluded: boolean;
  used_by: { service: string; destination: string; read_only: boolean }[];
}

export interface BindModel {
  host_path: string;
  container_path: string;
  read_only: boolean;
  services: string[];
}

export interface ComposeModel {
  name: string;
  state: string;
  working_dir: string;
  compose_version: string;
  config_files: string[];
  env_files: string[];
  services: ServiceModel[];
  volumes: VolumeModel[];
  binds: BindModel[];
  warnings: string[];
}

export interface ProjectDetail {
  name: string;
  state: ProjectState;
  project: ComposeModel | null;
  engines: string[];
  last_backup: BackupRef | null;
  backups: number;
  schedule: Schedule | null;
  next_run: number | null;
  retention: RetentionPolicy[];
  running_job: JobRef | null;
  targets?: TargetHealth[];
}

/** '' = not checked since it was stored. */
export type CopyState = '' | 'verified' | 'damaged' | 'unreachable';

export interface Copy {
  target: string;
  key: string;
  size: number;
  uploaded_at: number;
  verify_state?: CopyState;
  verified_at?: number | null;
  verify_detail?: string;
}

export interface Backup {
  id: string;
  project: string;
  created_at: number;
  plaintext_bytes: number;
  stored_bytes: number;
  sha256: string;
  duration_ms: number;
  verified_at: number | null;
  verify_result: string;
  drill_at: number | null;
  drill_result: string;
  copies: Copy[];
}

export type JobKind = 'backup' | 'restore' | 'verify' | 'drill' | 'prune' | 'rebuild' | 'repo-check' | 'repo-gc';
export type JobState = 'queued' | 'running' | 'succeeded' | 'partial' | 'failed' | 'cancelled' | 'interrupted';

export interface Job {
  id: number;
  kind: JobKind;
  project: string;
  backup_id: string;
  state: JobState;
  created_at: number;
  started_at: number;
  finished_at: number;
  error_code: string;
  error: string;
  summary: Record<string, unknown> | null;
  params: Record<string, unknown> | null;
}

export interface JobStarted {
  job_id: number;
  job?: Job;
}

export interface Schedule {
  project: string;
  cron: string;
  timezone: string;
  jitter_s: number;
  enabled: boolean;
  safe_mode: boolean;
  targets: string[];
  drill_cron: string;
  description?: string;
  last_run: number;
  next_run: number;
  last_drill: number;
  next_drill?: number;
}

export interface RetentionRule {
  keep_last: number;
  keep_daily: number;
  keep_weekly: number;
  keep_monthly: number;
  keep_yearly: number;
}

export interface RetentionPolicy {
  project: string;
  target: string;
  policy: RetentionRule;
  description?: string;
}

export type TargetKind = 'local' | 's3';

export interface TargetConfig {
  path?: string;
  endpoint?: string;
  bucket?: string;
  region?: string;
  prefix?: string;
  addressing?: 'auto' | 'path' | 'virtual';
  access_key?: string;
  secret_key?: string;
  secret_key_set?: boolean;
  readable_names?: boolean;
  multipart_threshold?: number;
  part_size?: number;
  ca_file?: string;
  /** input only: a CA bundle's text; the server stores it and answers ca_file */
  ca_pem?: string;
}

export interface Target {
  name: string;
  kind: TargetKind;
  config: TargetConfig;
  created_at: number;
  backups?: number;
}

export interface TargetTest {
  ok: boolean;
  latency_ms?: number;
  steps?: { step: string; ok: boolean; ms: number }[];
  describe?: string;
  step?: string;
  code?: string;
  message?: string;
  /** dns | tls | connect | access_denied | bucket_missing | clock_skew | config | full | other */
  kind?: string;
  hint?: string;
}

export type NotificationKind = 'webhook' | 'ntfy' | 'healthchecks';

export interface Notification {
  id: number;
  name: string;
  kind: NotificationKind;
  url: string;
  on_success: boolean;
  on_failure: boolean;
  enabled: boolean;
  created_at: number;
}

export interface NotificationTest {
  ok: boolean;
  status?: number;
  attempts?: number;
  message?: string;
}

export interface ApiToken {
  id: number;
  name: string;
  prefix: string;
  created_at: number;
  last_used: number;
  token?: string;
}

export interface Settings {
  max_concurrent_jobs: number;
  server_name: string;
}

/** GET /api/doctor (docs/API.md, "Doctor"). */
export type CheckState = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  id: string;
  state: CheckState;
  summary: string;
  fix: string;
}

export interface DoctorReport {
  ok: boolean;
  failed: number;
  warnings: number;
  version: string;
  commit: string;
  build_date: string;
  checks: DoctorCheck[];
}
