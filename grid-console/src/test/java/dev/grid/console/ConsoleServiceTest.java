package dev.grid.console;

import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.testing.LoopbackPorts;
import dev.grid.node.GridMember;
import dev.grid.node.Passwords;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The console of a member that lists users: every request needs a member user's HTTP Basic credentials, a POST needs
 * the page's header, and a bad setting stops the member with an error naming it.
 */
class ConsoleServiceTest
{
    @Test
    void membersWithUsersAskForCredentialsAndRefuseCrossSitePosts() throws Exception
    {
        final int consolePort = LoopbackPorts.next();
        final MemberConfiguration config = new MemberConfiguration("c0").port(LoopbackPorts.next()).clientPort(0)
            .setting("console.port", Integer.toString(consolePort)).setting("console.user", "ops")
            .setting("console.password", "ops-pw");
        config.clientUser("ops", MemberConfiguration.ClientRole.ADMIN, Passwords.newHash("ops-pw"));
        config.clientUser("viewer", MemberConfiguration.ClientRole.USER, Passwords.newHash("viewer-pw"));
        try (GridMember member = GridMember.start(config))
        {
            final HttpClient http = HttpClient.newHttpClient();
            final String state = "http://127.0.0.1:" + consolePort + "/api/state";
            final HttpResponse<String> anonymous = get(http, state, null);
            assertEquals(401, anonymous.statusCode());
            assertTrue(anonymous.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Basic"));
            assertEquals(401, get(http, state, "viewer:wrong").statusCode(), "a wrong password");
            final HttpResponse<String> viewer = get(http, state, "viewer:viewer-pw");
            assertEquals(200, viewer.statusCode(), viewer.body());
            assertTrue(viewer.body().contains("\"servedBy\":\"c0\""), viewer.body());
            assertEquals(401, get(http, "http://127.0.0.1:" + consolePort + "/", null).statusCode(),
                "the page too");
            final HttpResponse<String> crossSite = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" +
                consolePort + "/api/check?cache=x")).header("Authorization", basic("viewer:viewer-pw"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(403, crossSite.statusCode(), crossSite.body());
            final HttpResponse<String> fromThePage = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" +
                consolePort + "/api/check")).header("Authorization", basic("viewer:viewer-pw"))
                .header(ConsoleService.POST_HEADER, "1").POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
            assertEquals(400, fromThePage.statusCode(), "past both gates, the check itself names what is missing: " +
                fromThePage.body());
        }
    }

    @Test
    void onLoopbackOnlyRequestsForLoopbackNamesAreServed()
    {
        assertTrue(ConsoleService.loopbackHost("127.0.0.1:9000"));
        assertTrue(ConsoleService.loopbackHost("localhost"));
        assertTrue(ConsoleService.loopbackHost("[::1]:9000"));
        assertFalse(ConsoleService.loopbackHost("rebound.example.com:9000"), "a name rebound to 127.0.0.1");
        assertFalse(ConsoleService.loopbackHost(null));
    }

    @Test
    void aBadSettingStopsTheMemberNamingIt()
    {
        final InvalidConfigurationException port = assertThrows(InvalidConfigurationException.class, () ->
            GridMember.start(new MemberConfiguration("c1").port(LoopbackPorts.next()).clientPort(0)
                .setting("console.port", "70000")));
        assertTrue(port.getMessage().contains("console.port = '70000'"), port.getMessage());
        final InvalidConfigurationException noClients = assertThrows(InvalidConfigurationException.class, () ->
            GridMember.start(new MemberConfiguration("c2").port(LoopbackPorts.next())
                .setting("console.port", "0")));
        assertTrue(noClients.getMessage().contains("client.port"), noClients.getMessage());
        final InvalidConfigurationException unknown = assertThrows(InvalidConfigurationException.class, () ->
            GridMember.start(new MemberConfiguration("c3").port(LoopbackPorts.next()).clientPort(0)
                .setting("console.prot", "0")));
        assertTrue(unknown.getMessage().contains("console.prot"), unknown.getMessage());
    }

    private static HttpResponse<String> get(final HttpClient http, final String url, final String credentials)
        throws Exception
    {
        final HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
        if (credentials != null)
        {
            request.header("Authorization", basic(credentials));
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String basic(final String credentials)
    {
        return "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));
    }
}
