package dev.grid.examples;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.testing.LoopbackPorts;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The web console in a real browser: Debian's headless Chromium, driven through its chromedriver, opens the console
 * member m0 serves while three member processes run; a member is killed and started again, and the page shows it
 * away, its partitions MOVING while it catches up, then OWNING again. Screenshots of each step are saved in
 * {@code target/console-screenshots/}. Skipped (with a message) where chromium or chromedriver is not installed
 * ({@code apt-get install chromium chromium-driver}).
 */
class ConsoleBrowserTest
{
    private static final File CHROMIUM = new File("/usr/bin/chromium");
    private static final File CHROMEDRIVER = new File("/usr/bin/chromedriver");
    private static final Pattern SUMMARY = Pattern.compile("OWNING (\\d+), MOVING (\\d+)");
    private static final Duration STEP = Duration.ofSeconds(90);
    private static final int PARTITIONS = 32;

    @Test
    void thePageShowsAMemberAwayItsPartitionsMovingThenOwningAgain() throws Exception
    {
        assumeTrue(CHROMIUM.canExecute() && CHROMEDRIVER.canExecute(), "no /usr/bin/chromium or /usr/bin/chromedriver" +
            " (apt-get install chromium chromium-driver): the console's browser test is skipped");
        final Path data = Files.createTempDirectory("grid-console-test");
        final Path screenshots = Path.of("target", "console-screenshots");
        Files.createDirectories(screenshots);
        try (java.util.stream.Stream<Path> old = Files.list(screenshots))
        {
            for (final Path file : old.toList())
            {
                Files.delete(file);
            }
        }
        final int consolePort = LoopbackPorts.next();
        // Small throttled rebalance batches, so that catching up takes long enough to be seen on the page.
        try (MemberProcesses cluster = MemberProcesses.start(3, i -> "data.directory = " + data.resolve("m" + i) +
            "\nrebalance.batch.bytes = 1024\nrebalance.throttle.ms = 150\n" +
            (i == 0 ? "console.port = " + consolePort + "\n" : "")))
        {
            WebDriver browser = null;
            try (GridClient client = GridClient.connect(new ClientConfiguration()
                .address(cluster.members.get(0).clientAddress).address(cluster.members.get(1).clientAddress)))
            {
                client.admin().changeBaseline(1, List.of("m0", "m1", "m2"), -1);
                final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("console",
                    Codecs.STRING, Codecs.STRING).partitions(PARTITIONS).backups(1));
                load(cache, "first");
                browser = browser();
                browser.get("http://127.0.0.1:" + consolePort + "/");
                final WebDriverWait wait = new WebDriverWait(browser, STEP);
                wait.until(page -> owningAndMoving(page)[0] == 2 * PARTITIONS && memberState(page, "m2")
                    .equals("ONLINE"));
                screenshot(browser, screenshots.resolve("1-all-owning.png"));

                cluster.kill(cluster.members.get(2));
                wait.until(page -> memberState(page, "m2").equals("OFFLINE"));
                screenshot(browser, screenshots.resolve("2-m2-away.png"));
                load(cache, "second");

                cluster.restart(2);
                wait.until(page -> owningAndMoving(page)[1] > 0);
                screenshot(browser, screenshots.resolve("3-m2-moving.png"));
                wait.until(page -> owningAndMoving(page)[0] == 2 * PARTITIONS && owningAndMoving(page)[1] == 0 &&
                    memberState(page, "m2").equals("ONLINE"));
                screenshot(browser, screenshots.resolve("4-owning-again.png"));
                final String title = read(browser, "return document.querySelector(\"[data-cache='console'] " +
                    ".cell.OWNING\").title;");
                assertTrue(title.contains("LWM") && title.contains("HWM") && title.contains("lag"), title);
                // The consistency check, run from the page's button, and shown as the last one.
                read(browser, "document.querySelector(\"[data-cache='console'] button\").click(); return '';");
                wait.until(page -> read(page, "return document.getElementById('check').textContent;")
                    .contains("console at") && read(page, "return document.getElementById('check').textContent;")
                    .contains("clean"));
                screenshot(browser, screenshots.resolve("5-checked.png"));
                final HttpClient http = HttpClient.newHttpClient();
                final HttpResponse<String> noHeader = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" +
                    consolePort + "/api/check?cache=console")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
                assertEquals(403, noHeader.statusCode(), "a POST without the page's header (a cross-site form)");
                final HttpResponse<String> noCache = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" +
                    consolePort + "/api/check")).header("X-Grid-Console", "1").POST(HttpRequest.BodyPublishers
                    .noBody()).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(400, noCache.statusCode(), "a check without a cache is refused: " + noCache.body());
                assertEquals(404, http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + consolePort +
                    "/nothing")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            }
            catch (final RuntimeException | Error ex)
            {
                cluster.printLogTails();
                if (browser != null)
                {
                    screenshot(browser, screenshots.resolve("failed.png"));
                    System.err.println("the page when the test failed:\n" + read(browser,
                        "return document.body.innerText;"));
                }
                throw ex;
            }
            finally
            {
                if (browser != null)
                {
                    browser.quit();
                }
            }
        }
        finally
        {
            MemberProcesses.deleteRecursively(data.toFile());
        }
    }

    private static void load(final Cache<String, String> cache, final String tag)
    {
        final Map<String, String> batch = new HashMap<>();
        for (int i = 0; i < 3_000; i++)
        {
            batch.put("k" + i, tag + "-" + "x".repeat(100) + i);
            if (batch.size() == 500)
            {
                cache.putAll(batch);
                batch.clear();
            }
        }
    }

    private static WebDriver browser()
    {
        final ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM).addArguments("--headless=new",
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000");
        return new ChromeDriver(new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER)
            .usingAnyFreePort().build(), options);
    }

    /**
     * Read the page in one script call: the page redraws every second, so an element found first and read after may
     * be gone.
     */
    private static String read(final WebDriver page, final String script)
    {
        final Object value = ((JavascriptExecutor)page).executeScript(script);
        return value == null ? "" : value.toString();
    }

    /** @return {OWNING copies, MOVING copies} of the console cache as the page's summary line states them. */
    private static int[] owningAndMoving(final WebDriver page)
    {
        final Matcher matcher = SUMMARY.matcher(read(page,
            "const e = document.getElementById('summary-console'); return e ? e.textContent : '';"));
        return matcher.find() ? new int[] {Integer.parseInt(matcher.group(1)), Integer.parseInt(matcher.group(2))} :
            new int[] {-1, -1};
    }

    private static String memberState(final WebDriver page, final String member)
    {
        return read(page, "const e = document.querySelector(\"tr[data-member='" + member + "']\"); " +
            "return e ? e.getAttribute('data-state') : '';");
    }

    private static void screenshot(final WebDriver browser, final Path file) throws IOException
    {
        Files.write(file, ((TakesScreenshot)browser).getScreenshotAs(OutputType.BYTES));
    }
}
