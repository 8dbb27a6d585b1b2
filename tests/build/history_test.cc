// created_by texts against what docker 20.10's BuildKit recorded for the same
// Dockerfiles (/work/shared/conformance/build-cases/*/expected.json).
#include "build/history.h"

#include <gtest/gtest.h>

namespace strata::build {
namespace {

std::vector<std::pair<std::string, bool>> History(const std::string& dockerfile,
                                                  std::map<std::string, std::string> args = {}) {
  dockerfile::PlanOptions po;
  po.build_args = std::move(args);
  auto plan = dockerfile::PlanDockerfile(dockerfile, po);
  EXPECT_TRUE(plan.has_value()) << (plan.has_value() ? "" : plan.error().message);
  std::vector<std::pair<std::string, bool>> out;
  if (!plan.has_value()) return out;
  for (const auto& step : plan->stages[plan->target].steps) {
    out.emplace_back(CreatedBy(step), ChangesFilesystem(step));
  }
  return out;
}

using H = std::vector<std::pair<std::string, bool>>;

TEST(CreatedBy, ShellHealthcheckCmd) {  // conformance case shell-healthcheck
  EXPECT_EQ(History("FROM scratch\n"
                    "SHELL [\"/bin/sh\", \"-e\", \"-c\"]\n"
                    "RUN echo \"shell is: $0\" > /shell.txt\n"
                    "HEALTHCHECK --interval=45s --timeout=7s --start-period=2m --retries=4 \\\n"
                    "  CMD wget -q -O /dev/null http://127.0.0.1/ || exit 1\n"
                    "CMD echo running with custom shell\n"),
            (H{{"SHELL [/bin/sh -e -c]", false},
               {"RUN /bin/sh -e -c echo \"shell is: $0\" > /shell.txt # buildkit", true},
               {"HEALTHCHECK &{[\"CMD-SHELL\" \"wget -q -O /dev/null http://127.0.0.1/ || exit "
                "1\"] \"45s\" \"7s\" \"2m0s\" '\\x04'}",
                false},
               {"CMD [\"/bin/sh\" \"-e\" \"-c\" \"echo running with custom shell\"]", false}}));
}

TEST(CreatedBy, ExposeVolumeStopsignal) {  // conformance case expose-volume-stopsignal
  EXPECT_EQ(History("FROM scratch\n"
                    "EXPOSE 80 443/tcp\n"
                    "EXPOSE 53/udp 7000-7002 9000-9001/udp\n"
                    "VOLUME [\"/data\", \"/var/log/app\"]\n"
                    "VOLUME /cache /scratch\n"
                    "STOPSIGNAL SIGQUIT\n"),
            (H{{"EXPOSE map[443/tcp:{} 80/tcp:{}]", false},
               {"EXPOSE map[53/udp:{} 7000/tcp:{} 7001/tcp:{} 7002/tcp:{} 9000/udp:{} 9001/udp:{}]",
                false},
               {"VOLUME [/data /var/log/app]", false},
               {"VOLUME [/cache /scratch]", false},
               {"STOPSIGNAL SIGQUIT", false}}));
}

TEST(CreatedBy, VariableSubstitution) {  // conformance case variable-substitution
  EXPECT_EQ(History("FROM scratch\n"
                    "ARG SET=value\n"
                    "ARG EMPTY=\n"
                    "ENV X=${SET:-fallback} Y=${UNSET:-fallback} Z=${SET:+alt} W=${UNSET:+alt}\n"
                    "ENV LIT=\\$SET BRACED=${SET}suffix PLAIN=$SET\n"
                    "WORKDIR /w/${SET}\n"
                    "COPY ${SET}.txt /copied-${SET}/\n"
                    "LABEL subst=\"${SET:-x}\" raw='${SET}'\n"
                    "RUN echo \"$X $Y $Z [$W] $LIT\" > run.txt\n"),
            (H{{"ARG SET=value", false},
               {"ARG EMPTY=", false},
               {"ENV X=value Y=fallback Z=alt W=", false},
               {"ENV LIT=$SET BRACED=valuesuffix PLAIN=value", false},
               {"WORKDIR /w/value", true},
               {"COPY value.txt /copied-value/ # buildkit", true},
               {"LABEL subst=value raw=${SET}", false},
               {"RUN |2 SET=value EMPTY= /bin/sh -c echo \"$X $Y $Z [$W] $LIT\" > run.txt # "
                "buildkit",
                true}}));
}

TEST(CreatedBy, ExecFormEntrypointMaintainer) {
  EXPECT_EQ(History("FROM scratch\n"
                    "MAINTAINER Conformance Tester <conformance@example.invalid>\n"
                    "RUN [\"/opt/bb/busybox\", \"mkdir\", \"/ran-copied-busybox\"]\n"
                    "ENTRYPOINT /bin/echo shell-form-entrypoint\n"
                    "CMD [\"--flag\", \"value\"]\n"
                    "USER 4242:4343\n"
                    "COPY [\"src/with space.txt\", \"/json form/\"]\n"),
            (H{{"MAINTAINER Conformance Tester <conformance@example.invalid>", false},
               {"RUN /opt/bb/busybox mkdir /ran-copied-busybox # buildkit", true},
               {"ENTRYPOINT [\"/bin/sh\" \"-c\" \"/bin/echo shell-form-entrypoint\"]", false},
               {"CMD [\"--flag\" \"value\"]", false},
               {"USER 4242:4343", false},
               {"COPY src/with space.txt /json form/ # buildkit", true}}));
}

}  // namespace
}  // namespace strata::build
