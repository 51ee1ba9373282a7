// Seed Dockerfiles for the property tests: every construct the engine and the quick fixes treat specially
// (multi-stage, COPY --from, installs with and without manifests, caches left behind, consecutive RUNs, the
// backtick escape, heredocs, exec form, ARG scoping, comments inside continuations, CRLF, BOM, directives).
// The sample project's Dockerfile and the e2e fixture join them at run time.

import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');

export const CORPUS: readonly string[] = [
  [
    'FROM node:20 AS build',
    'WORKDIR /app',
    '# all sources first: any edit re-runs npm ci',
    'COPY . .',
    'RUN npm ci && npm run build',
    'RUN npm cache ls',
    '',
    'FROM nginx:alpine',
    'COPY --from=build /app/dist /usr/share/nginx/html',
    '',
  ].join('\n'),
  [
    '# syntax=docker/dockerfile:1',
    'ARG BASE=python:3.12-slim',
    'FROM ${BASE}',
    'ENV PIP_DISABLE=1',
    'COPY requirements.txt .',
    'RUN pip install -r requirements.txt',
    'COPY . /src',
    'RUN apt-get update && apt-get install -y curl',
    'RUN echo one',
    '# between the runs',
    'RUN echo two \\',
    '    # a comment inside the continuation',
    '    && echo three',
    'CMD ["python", "/src/app.py"]',
    '',
  ].join('\n'),
  '# escape=`\nFROM mcr.microsoft.com/windows/servercore\nRUN echo a `\n    && echo b\nRUN echo c\nCOPY . C:\\\\app\\\\\n',
  [
    'FROM alpine:3.19',
    'RUN apk add curl',
    'RUN <<END',
    'echo heredoc',
    'apk add git',
    'END',
    'RUN --mount=type=cache,target=/root/.cache pip install flask',
    'RUN --mount=type=cache,target=/root/.cache pip install gunicorn',
    '',
  ].join('\n'),
  [
    'FROM golang:1.22 AS deps',
    'WORKDIR /go/src',
    'COPY go.mod go.sum ./',
    'RUN go mod download',
    'FROM deps AS build',
    'COPY . .',
    'RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app',
    'FROM scratch',
    'COPY --from=build /out/app /app',
    'ENTRYPOINT ["/app"]',
    '',
  ].join('\n'),
  'FROM ubuntu:22.04\r\nRUN apt-get update\r\nRUN apt-get install -y python3-pip \\\r\n    && pip install requests\r\n# keep\r\nRUN yarn install && yarn build\r\n',
  '\uFEFFFROM busybox\nLABEL a="b" c=d\nEXPOSE 80/tcp\nHEALTHCHECK CMD wget -q -O- localhost || exit 1\nSTOPSIGNAL SIGTERM\nUSER 1000:1000\nVOLUME ["/data"]\nONBUILD RUN echo hi\nSHELL ["/bin/ash", "-c"]\nRUN echo after shell\n',
  ['FROM node:18', 'WORKDIR /srv', 'ADD . .', 'RUN npm install', 'RUN cd sub && npm install', 'RUN export X=1', 'RUN echo $X', ''].join('\n'),
  [
    'ARG V=1',
    'FROM alpine AS a',
    'ARG V',
    'RUN echo $V > /v',
    'FROM a AS b',
    'RUN echo b',
    'FROM a',
    'COPY --from=b /v /v2',
    'COPY --chown=1:1 --chmod=644 a.txt b.txt /dst/',
    '',
  ].join('\n'),
  [
    'from alpine',
    'run apk add --no-cache bash',
    'copy . .',
    'run pip3 install -r requirements.txt ; rm -rf /tmp/*',
    `run echo "quoted && not split" && echo 'single # not a comment'`,
    '',
  ].join('\n'),
  'FROM x\nRUN echo \\\\\nRUN echo done\n\n\nRUN echo   spaced   \t\nRUN echo last',
  '',
  '# only a comment\n',
  'RUN echo no from\nCOPY . .\n',
];

/** The corpus plus the Dockerfiles shipped in the repository (sample project, e2e fixture). */
export function corpus(): string[] {
  const extra = ['sample/Dockerfile', 'test/fixtures/e2e-basic/Dockerfile']
    .map((p) => path.join(ROOT, p))
    .filter((p) => fs.existsSync(p))
    .map((p) => fs.readFileSync(p, 'utf8'));
  return [...CORPUS, ...extra];
}
