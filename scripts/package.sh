#!/usr/bin/env bash
# Builds the release files of git-credential-ghapp into dist/ (or $DIST):
#
#   git-credential-ghapp-linux-amd64, -linux-arm64, -darwin-arm64,
#   -windows-amd64.exe      static binaries (CGO_ENABLED=0)
#   git-credential-ghapp_VERSION_amd64.deb, _arm64.deb
#   git-credential-ghapp-VERSION-1.x86_64.rpm, .aarch64.rpm
#                           /usr/bin/git-credential-ghapp, the man page and
#                           the bash, zsh and fish completions
#
# Usage: scripts/package.sh [version]
#
# The version (a leading "v" is dropped) is stamped into the binaries, so
# that `git-credential-ghapp --version` prints it. Without one, it is the
# newest tag v* that describes HEAD, or 0.0.0-dev.
#
# The builds are reproducible: -trimpath, -buildvcs=false and no build ID
# or symbols (-s -w), and the packages' file times come from
# SOURCE_DATE_EPOCH (default: the time of the last commit). The same
# source, Go version and version string give the same bytes. Binaries are
# built with -tags urfave_cli_no_docs, which leaves out the man-page
# generator that every start would otherwise initialise.
#
# Packages are made by nfpm, fetched and built through the Go module proxy
# at the version pinned below (go run ...@version): nothing to install
# first. Needs Go, git and gzip. $MAINTAINER names the packages'
# maintainer (below).
set -euo pipefail
cd "$(dirname "$0")/.."

# The newest nfpm whose dependencies the Go module proxy serves in full
# (v2.46.0 and later need modules from go.digitalxero.dev, which it does not).
nfpm=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

version=${1:-$(git describe --tags --match 'v[0-9]*' 2>/dev/null || echo 0.0.0-dev)}
version=${version#v}
case $version in
[0-9]*) ;;
*) echo "package.sh: the version must start with a digit (like 1.2.3 or v1.2.3), not \"$version\"" >&2; exit 2 ;;
esac
case $version in *[!0-9A-Za-z.+~-]*)
	echo "package.sh: the version \"$version\" may hold only letters, digits and . + ~ -" >&2
	exit 2
	;;
esac

dist=${DIST:-dist}
mkdir -p "$dist"
dist=$(cd "$dist" && pwd)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export SOURCE_DATE_EPOCH

for target in linux/amd64 linux/arm64 darwin/arm64 windows/amd64; do
	goos=${target%/*} goarch=${target#*/}
	out="$dist/git-credential-ghapp-$goos-$goarch"
	[ "$goos" = windows ] && out="$out.exe"
	echo "package.sh: $out" >&2
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -buildvcs=false \
		-tags urfave_cli_no_docs -ldflags "-s -w -X main.version=$version" \
		-o "$out" ./cmd/git-credential-ghapp
done

# Debian and Fedora keep man pages compressed; -n leaves out the name and
# time, so the file is the same on every run.
gzip -9n <docs/man/git-credential-ghapp.1 >"$dist/git-credential-ghapp.1.gz"

export VERSION=$version DIST=$dist
# The project's name and address, where problems are reported; a
# distribution sets MAINTAINER="Name <email>" (Debian's policy asks for one).
export MAINTAINER=${MAINTAINER:-git-credential-ghapp <https://github.com/ghapp-creds/git-credential-ghapp>}
for arch in amd64 arm64; do
	for packager in deb rpm; do
		ARCH=$arch go run "$nfpm" package --config packaging/nfpm.yaml \
			--packager "$packager" --target "$dist/" >&2
	done
done
rm -f "$dist/git-credential-ghapp.1.gz"
echo "package.sh: version $version in $dist" >&2
